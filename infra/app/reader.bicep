// Reader on one subscription to report on (deployed at that subscription's scope from
// main.bicep). The deployer needs Owner or User Access Administrator there.
targetScope = 'subscription'

param principalId string

var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7' // Reader

resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, reader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
