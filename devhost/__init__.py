"""devhost: local stand-ins that let Advisor Reports run and be tested without Azure and without
Azure Functions Core Tools: Azurite management, an HTTPS stand-in for ARM Advisor, Entra and Key
Vault, and (later) a local Functions host with the Durable extension."""
