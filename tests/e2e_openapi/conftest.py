"""The end-to-end fixtures of tests/e2e (``stack``: the whole app on devhost; ``api``: the
client that checks every answer for secrets) for the OpenAPI tests, in a package of their own:
a property-based run creates customers and starts reports at random, which must not meet the
counts tests/e2e makes on its stack (and one stack per package: its settings live in
``os.environ``)."""

from tests.e2e.conftest import api, sample_subscriptions, stack  # noqa: F401 - fixtures, used by name
