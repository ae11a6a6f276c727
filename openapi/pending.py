"""The parts of the definition for routes and fields being added beside the ones in
:mod:`openapi.spec`. Each part is one function that changes the document, so it can be moved
into ``spec.py`` (or corrected) on its own when its code lands; ``apply`` runs them all.
Nothing is pending now: scheduled reports, the last part kept here, are in ``spec.py``.

Described from the issue's words; where the landed code differs, the code wins and this is
changed to match it (the route test in tests/unit/test_openapi.py says which routes are
registered and which are not yet).
"""

from __future__ import annotations

from .spec import Json


def apply(document: Json) -> Json:
    """All the parts above, in an order where each finds what it changes."""
    return document
