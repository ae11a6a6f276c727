"""Advisor Reports' domain and adapters: models, settings, Advisor client, CSV import, storage
repositories, rendering. Nothing here imports ``azure.functions``; triggers, orchestrators and
activities call into this package."""
