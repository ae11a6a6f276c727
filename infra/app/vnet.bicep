// The private deployment's network: one subnet for the app's VNet integration (Flex
// Consumption delegates it to Microsoft.App/environments), one for private endpoints.
param name string
param location string = resourceGroup().location
param tags object = {}

var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

resource vnet 'Microsoft.Network/virtualNetworks@2024-01-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: ['10.0.0.0/16'] }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: '10.0.1.0/24'
          delegations: [
            {
              name: 'flex-consumption'
              properties: { serviceName: 'Microsoft.App/environments' }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: '10.0.2.0/24'
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

output name string = vnet.name
output appSubnetId string = '${vnet.id}/subnets/${appSubnetName}'
output privateEndpointSubnetName string = privateEndpointSubnetName
