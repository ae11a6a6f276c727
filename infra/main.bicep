// Advisor Reports: everything `azd up` creates, in one resource group.
//
// A Flex Consumption Function App (Python 3.11) runs as a user-assigned managed identity and
// reaches Storage, Key Vault and Application Insights with that identity only: the storage
// account refuses shared keys, the vault uses RBAC, Application Insights refuses local auth.
// Reader on the subscriptions to report on is granted outside the resource group, by this
// template when `readerSubscriptionIds` is given and the deployer may, or by hand (README).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Region for every resource; it must offer Flex Consumption.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the person running azd: given Key Vault Secrets Officer so they can store the Advisor service principal secret. Empty: no such grant.')
param principalId string = ''

@description('Private deployment: VNet integration for the app, private endpoints for Storage and Key Vault, public network access off.')
param privateNetworking bool = false

@description('Comma-separated subscription ids on which the app identity gets Reader (needs Owner or User Access Administrator there). Empty: grant Reader yourself (README).')
param readerSubscriptionIds string = ''

@description('Optional: tenant of a service principal that reads Advisor (other tenants, Lighthouse-less setups). Empty: the app identity reads Advisor.')
param advisorTenantId string = ''

@description('Optional: client id of that service principal.')
param advisorClientId string = ''

@description('Optional: name of the Key Vault secret holding that service principal secret.')
param advisorClientSecretName string = ''

@description('Optional: name of the Key Vault secret holding the key that signs report callbacks (CALLBACK_SIGNING_KEY, set as a Key Vault reference); empty: callbacks are refused.')
param callbackSigningKeySecretName string = ''
@description('Optional: name of the Key Vault secret holding the key of signed report links (REPORT_LINK_KEY, set as a Key Vault reference); empty: links need the function key.')
param reportLinkKeySecretName string = ''

@description('Durable Functions task hub name (host.json reads it as %DURABLE_TASK_HUB%).')
param durableTaskHub string = 'AdvisorReports'

param resourceGroupName string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = 'func-advisor-${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
var readerSubscriptions = filter(map(split(readerSubscriptionIds, ','), s => trim(s)), s => !empty(s))

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-advisor-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module network 'app/vnet.bicep' = if (privateNetworking) {
  name: 'network'
  scope: rg
  params: {
    name: 'vnet-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    privateNetworking: privateNetworking
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-${take(resourceToken, 20)}'
    location: location
    tags: tags
    privateNetworking: privateNetworking
  }
}

module privateEndpoints 'app/private-endpoints.bicep' = if (privateNetworking) {
  name: 'private-endpoints'
  scope: rg
  params: {
    location: location
    tags: tags
    vnetName: privateNetworking ? network.outputs.name : ''
    subnetName: privateNetworking ? network.outputs.privateEndpointSubnetName : ''
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    deployerPrincipalId: principalId
  }
}

module readers 'app/reader.bicep' = [
  for subscriptionId in readerSubscriptions: {
    name: 'reader-${take(uniqueString(subscriptionId, environmentName), 8)}'
    scope: subscription(subscriptionId)
    params: {
      principalId: identity.outputs.principalId
    }
  }
]

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultUri: keyVault.outputs.uri
    durableTaskHub: durableTaskHub
    advisorTenantId: advisorTenantId
    advisorClientId: advisorClientId
    advisorClientSecretName: advisorClientSecretName
    callbackSigningKeySecretName: callbackSigningKeySecretName
    reportLinkKeySecretName: reportLinkKeySecretName
    appSubnetId: privateNetworking ? network.outputs.appSubnetId : ''
  }
  // The app starts with its identity: let the role assignments land first.
  dependsOn: [rbac]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APP_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output APP_IDENTITY_CLIENT_ID string = identity.outputs.clientId
