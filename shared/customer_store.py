"""Table Storage repository for customers and subscriptions, and Blob Storage for logos.

Layout:
- ``customers`` table, one partition ``customer``, RowKey = customer id (lower case).
- ``subscriptions`` table, one partition ``subscription``, RowKey = subscription id (lower
  case), with ``customerId`` as a property (listing by customer is a filtered query, with the
  SDK's parameter substitution). A subscription's row holds its auth type, tenant and client
  ids and the *name* of its Key Vault secret, never the secret.
- logos in the ``branding`` container as ``{customerId}/logo``, with their sniffed content type.

Both tables are small (one row per customer or subscription), so a single partition each is
enough and keeps listing one range scan.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from .customers import AuthType, Branding, Customer, Logo, Subscription, SubscriptionAuth, SyncStatus
from .errors import AdvisorReportsError
from .table_store import TableStore, check_key, classify_storage_error

CUSTOMERS_TABLE = "customers"
SUBSCRIPTIONS_TABLE = "subscriptions"
CUSTOMER_PARTITION = "customer"
SUBSCRIPTION_PARTITION = "subscription"
BRANDING_CONTAINER = "branding"


class AlreadyExistsError(AdvisorReportsError):
    code = "already_exists"


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


def customer_to_entity(customer: Customer) -> dict[str, Any]:
    b = customer.branding
    return {
        "PartitionKey": CUSTOMER_PARTITION,
        "RowKey": check_key(customer.customer_id, "customerId"),
        "name": customer.name,
        "brandingDisplayName": b.display_name,
        "accentColor": b.accent_color,
        "logoBlob": b.logo.blob_name if b.logo else "",
        "logoContentType": b.logo.content_type if b.logo else "",
        "logoSize": b.logo.size if b.logo else 0,
        "createdAt": customer.created_at,
        "updatedAt": customer.updated_at,
    }


def entity_to_customer(e: dict[str, Any]) -> Customer:
    logo = (
        Logo(str(e.get("logoContentType") or ""), int(e.get("logoSize") or 0), str(e["logoBlob"]))
        if e.get("logoBlob")
        else None
    )
    branding = Branding(str(e.get("brandingDisplayName") or ""), str(e.get("accentColor") or ""), logo)
    return Customer(
        str(e["RowKey"]),
        str(e.get("name") or ""),
        branding,
        _time(e.get("createdAt")),
        _time(e.get("updatedAt")),
    )


def subscription_to_entity(sub: Subscription) -> dict[str, Any]:
    return {
        "PartitionKey": SUBSCRIPTION_PARTITION,
        "RowKey": check_key(sub.subscription_id, "subscriptionId"),
        "displayName": sub.display_name,
        "customerId": sub.customer_id,
        "authType": sub.auth.type.value,
        "tenantId": sub.auth.tenant_id,
        "clientId": sub.auth.client_id,
        "secretName": sub.auth.secret_name,
        "syncStatus": sub.sync_status.value,
        "lastChecked": sub.last_checked,
        "lastCheckMessage": sub.last_check_message,
        "createdAt": sub.created_at,
        "updatedAt": sub.updated_at,
    }


def entity_to_subscription(e: dict[str, Any]) -> Subscription:
    auth = SubscriptionAuth(
        AuthType(str(e.get("authType") or AuthType.MANAGED_IDENTITY.value)),
        str(e.get("tenantId") or ""),
        str(e.get("clientId") or ""),
        str(e.get("secretName") or ""),
    )
    return Subscription(
        subscription_id=str(e["RowKey"]),
        display_name=str(e.get("displayName") or ""),
        customer_id=str(e.get("customerId") or ""),
        auth=auth,
        sync_status=SyncStatus(str(e.get("syncStatus") or SyncStatus.NEVER_SYNCED.value)),
        last_checked=_time(e.get("lastChecked")),
        last_check_message=str(e.get("lastCheckMessage") or ""),
        created_at=_time(e.get("createdAt")),
        updated_at=_time(e.get("updatedAt")),
    )


class CustomerStore:
    """Customers and subscriptions in the account's tables (through :class:`TableStore`, which
    owns the connection and creates tables on first use)."""

    def __init__(self, tables: TableStore) -> None:
        self._tables = tables

    def _table(self, name: str) -> Any:
        return self._tables.table(name)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ResourceExistsError:
            raise AlreadyExistsError(f"{what}: it already exists") from None
        except HttpResponseError as exc:
            raise classify_storage_error(exc, what) from None

    def _get(self, table: str, partition: str, key: str) -> dict[str, Any] | None:
        try:
            return dict(self._table(table).get_entity(partition, check_key(key)))
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            raise classify_storage_error(exc, f"reading {table}") from None

    # -- customers --------------------------------------------------------------------------

    def create_customer(self, customer: Customer) -> None:
        self._call(
            "creating the customer", self._table(CUSTOMERS_TABLE).create_entity, customer_to_entity(customer)
        )

    def get_customer(self, customer_id: str) -> Customer | None:
        e = self._get(CUSTOMERS_TABLE, CUSTOMER_PARTITION, customer_id)
        return entity_to_customer(e) if e else None

    def put_customer(self, customer: Customer) -> None:
        self._call(
            "updating the customer",
            self._table(CUSTOMERS_TABLE).upsert_entity,
            customer_to_entity(customer),
            mode=UpdateMode.REPLACE,
        )

    def list_customers(self) -> list[Customer]:
        rows = self._call(
            "listing customers",
            lambda: list(
                self._table(CUSTOMERS_TABLE).query_entities(
                    "PartitionKey eq @pk", parameters={"pk": CUSTOMER_PARTITION}
                )
            ),
        )
        return [entity_to_customer(dict(r)) for r in rows]

    def delete_customer(self, customer_id: str) -> None:
        self._call(
            "deleting the customer",
            self._table(CUSTOMERS_TABLE).delete_entity,
            CUSTOMER_PARTITION,
            check_key(customer_id),
        )

    # -- subscriptions ----------------------------------------------------------------------

    def create_subscription(self, sub: Subscription) -> None:
        self._call(
            "creating the subscription",
            self._table(SUBSCRIPTIONS_TABLE).create_entity,
            subscription_to_entity(sub),
        )

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        e = self._get(SUBSCRIPTIONS_TABLE, SUBSCRIPTION_PARTITION, subscription_id.lower())
        return entity_to_subscription(e) if e else None

    def put_subscription(self, sub: Subscription) -> None:
        self._call(
            "updating the subscription",
            self._table(SUBSCRIPTIONS_TABLE).upsert_entity,
            subscription_to_entity(sub),
            mode=UpdateMode.REPLACE,
        )

    def update_sync_status(
        self, subscription_id: str, status: SyncStatus, checked_at: datetime, message: str
    ) -> bool:
        """Record a connection test's outcome; False if the subscription is gone meanwhile."""
        patch = {
            "PartitionKey": SUBSCRIPTION_PARTITION,
            "RowKey": check_key(subscription_id.lower()),
            "syncStatus": status.value,
            "lastChecked": checked_at,
            "lastCheckMessage": message,
        }
        try:
            # update_entity sends If-Match: * (merge into an existing row, never an upsert):
            # a test finishing after a delete must not bring the subscription back.
            self._table(SUBSCRIPTIONS_TABLE).update_entity(patch, mode=UpdateMode.MERGE)
        except ResourceNotFoundError:
            return False
        except HttpResponseError as exc:
            raise classify_storage_error(exc, "recording the connection test") from None
        return True

    def list_subscriptions(self, customer_id: str | None = None) -> list[Subscription]:
        query, params = "PartitionKey eq @pk", {"pk": SUBSCRIPTION_PARTITION}
        if customer_id:
            query += " and customerId eq @customer"
            params["customer"] = customer_id
        rows = self._call(
            "listing subscriptions",
            lambda: list(self._table(SUBSCRIPTIONS_TABLE).query_entities(query, parameters=params)),
        )
        return [entity_to_subscription(dict(r)) for r in rows]

    def delete_subscription(self, subscription_id: str) -> None:
        self._call(
            "deleting the subscription",
            self._table(SUBSCRIPTIONS_TABLE).delete_entity,
            SUBSCRIPTION_PARTITION,
            check_key(subscription_id.lower()),
        )


def logo_blob_name(customer_id: str) -> str:
    return f"{customer_id}/logo"


__all__ = ["AlreadyExistsError", "CustomerStore", "logo_blob_name"]
