"""devhost: local stand-ins that let Advisor Reports run and be tested without Azure and without
Azure Functions Core Tools: Azurite management (``azurite``), an HTTPS stand-in for ARM
Advisor, Entra and Key Vault (``azure_standin``), a local Functions host with the Durable
extension's replay rules (``functions_host``, see its README), the sample tenant, the stack
that starts them together (``stack``, ``python -m devhost``) and the demo (``demo``)."""
