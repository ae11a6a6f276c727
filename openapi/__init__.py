"""The app's OpenAPI 2.0 (Swagger) definition: its source (``spec.py`` for the routes the app
registers, ``pending.py`` for those being added beside them) and the file built from it,
``advisor-reports.swagger.json``, which the app serves at ``GET /api/openapi.json`` and which
imports as a Logic Apps / Power Automate custom connector.

``python -m openapi`` writes the file; ``python -m openapi --check`` says whether it is up to
date (a unit test does the same). Only the JSON file ships with the app (``.funcignore``).
"""
