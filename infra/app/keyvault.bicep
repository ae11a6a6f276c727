// Key Vault for the Advisor service principal's secret (when one is used). RBAC authorization,
// no access policies; the app reads it through KEY_VAULT_URL with its identity.
param name string
param location string = resourceGroup().location
param tags object = {}
param privateNetworking bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Purge protection is left off: once on it cannot be turned off, and `azd down --purge`
    // followed by `azd up` with the same environment name would then meet the deleted vault.
    // Turn it on for a long-lived production vault.
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: privateNetworking
      ? { defaultAction: 'Deny', bypass: 'None' }
      : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
