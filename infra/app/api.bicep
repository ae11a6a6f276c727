// The Flex Consumption plan and Function App. The runtime is declared in functionAppConfig
// (Flex Consumption takes no FUNCTIONS_WORKER_RUNTIME setting); the deployment package and all
// storage are reached with the user-assigned identity.
//
// App settings are exactly what the app and the host read (tests/unit/test_infra.py checks
// them against shared/settings.py and local.settings.sample.json).
// optional-settings: ADVISOR_PAGE_SIZE DOWNLOAD_SAS_MINUTES PDF_ROWS_PER_PART TABLE_WRITE_WORKERS RETRY_ATTEMPTS RETRY_INTERVAL_SECONDS FETCH_TIMEOUT_SECONDS REPORTS_CONTAINER UPLOADS_CONTAINER REPORTS_TABLE RECOMMENDATIONS_TABLE TLS_CA_BUNDLE PUBLIC_BASE_URL REPORT_LINK_HOURS REPORT_PROVIDER_NAME REPORT_PROVIDER_LOGO_BLOB CALLBACK_ALLOW_PRIVATE_HOSTS REPORT_RETENTION_DAYS
// (the code's defaults apply; TLS_CA_BUNDLE is for a local stand-in with a private CA only;
// PUBLIC_BASE_URL only when callers reach the app by another name than the platform's
// WEBSITE_HOSTNAME).
param name string
param planName string
param location string = resourceGroup().location
param tags object = {}
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param keyVaultUri string
param durableTaskHub string
param advisorTenantId string = ''
param advisorClientId string = ''
param advisorClientSecretName string = ''
@description('Key Vault secret that signs report callbacks; empty: no CALLBACK_SIGNING_KEY, callbacks are refused.')
param callbackSigningKeySecretName string = ''
@description('Key Vault secret that signs report-scoped links (Location, file links a Logic App follows without the key); empty: no REPORT_LINK_KEY, links need the function key.')
param reportLinkKeySecretName string = ''
@description('Subnet delegated to Microsoft.App/environments for VNet integration; empty: none.')
param appSubnetId string = ''
@description('NCRONTAB schedule of the report_retention timer (deletes reports past their retention).')
param reportRetentionSchedule string = '0 30 2 * * *'
param instanceMemoryMB int = 2048
param maximumInstanceCount int = 40

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

var appSettings = {
  // Host storage (and the app's own clients, shared/settings.py): identity-based, no key.
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Telemetry with the identity (the resource refuses its instrumentation key on its own).
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // host.json: "hubName": "%DURABLE_TASK_HUB%"; the extension does not start without it.
  DURABLE_TASK_HUB: durableTaskHub
  // The app identity for Key Vault and, without a service principal, for Advisor.
  AZURE_CLIENT_ID: identityClientId
  KEY_VAULT_URL: keyVaultUri
  // Sovereign clouds: the endpoints of the cloud this is deployed to.
  ARM_ENDPOINT: environment().resourceManager
  AZURE_AUTHORITY_HOST: environment().authentication.loginEndpoint
  ADVISOR_TENANT_ID: advisorTenantId
  ADVISOR_CLIENT_ID: advisorClientId
  ADVISOR_CLIENT_SECRET_NAME: advisorClientSecretName
  // NCRONTAB for the scheduled_reports timer ("%REPORT_SCHEDULE%"): the host does not index the
  // timer without it. Every 15 minutes: how late a scheduled report may start at most.
  REPORT_SCHEDULE: '0 */15 * * * *'
  // The report_retention timer binds its schedule as %REPORT_RETENTION_SCHEDULE%: the host does
  // not load the function without it. Daily at 02:30 UTC.
  REPORT_RETENTION_SCHEDULE: reportRetentionSchedule
  // A Key Vault reference, resolved by the platform with the app identity
  // (keyVaultReferenceIdentity below): the key itself never appears in the app's configuration.
  CALLBACK_SIGNING_KEY: empty(callbackSigningKeySecretName)
    ? ''
    : '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${callbackSigningKeySecretName}/)'
  // The same for the key of the signed, expiring report links.
  REPORT_LINK_KEY: empty(reportLinkKeySecretName)
    ? ''
    : '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${reportLinkKeySecretName}/)'
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in app settings (CALLBACK_SIGNING_KEY, REPORT_LINK_KEY) resolve with this identity.
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: appSettings
  }
}

output name string = functionApp.name
output uri string = 'https://${functionApp.properties.defaultHostName}'
