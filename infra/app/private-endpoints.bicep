// Private endpoints (and their privatelink DNS zones, linked to the VNet) for the storage
// account's blob, queue and table services and for Key Vault.
param location string = resourceGroup().location
param tags object = {}
param vnetName string
param subnetName string
param storageAccountName string
param keyVaultName string

resource vnet 'Microsoft.Network/virtualNetworks@2024-01-01' existing = {
  name: vnetName
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

var targets = [
  { group: 'blob', zone: 'privatelink.blob.${environment().suffixes.storage}', id: storage.id }
  { group: 'queue', zone: 'privatelink.queue.${environment().suffixes.storage}', id: storage.id }
  { group: 'table', zone: 'privatelink.table.${environment().suffixes.storage}', id: storage.id }
  { group: 'vault', zone: 'privatelink.vaultcore.azure.net', id: vault.id }
]

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [
  for t in targets: {
    name: t.zone
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [
  for (t, i) in targets: {
    parent: zones[i]
    name: '${vnetName}-${t.group}'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: { id: vnet.id }
    }
  }
]

resource endpoints 'Microsoft.Network/privateEndpoints@2024-01-01' = [
  for t in targets: {
    name: 'pe-${t.group}-${take(uniqueString(t.id), 6)}'
    location: location
    tags: tags
    properties: {
      subnet: { id: '${vnet.id}/subnets/${subnetName}' }
      privateLinkServiceConnections: [
        {
          name: '${t.group}-connection'
          properties: {
            privateLinkServiceId: t.id
            groupIds: [t.group]
          }
        }
      ]
    }
  }
]

resource dnsGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-01-01' = [
  for (t, i) in targets: {
    parent: endpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: t.group
          properties: { privateDnsZoneId: zones[i].id }
        }
      ]
    }
  }
]
