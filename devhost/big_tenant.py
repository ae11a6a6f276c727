"""The big sample: 45 subscriptions of three customers in three Entra tenants, named in their own
scripts, with a few thousand recommendations billed in seven currencies.

What a report must cope with that the bundled sample does not show:

- names in Polish, Czech, Greek, Cyrillic, Japanese, Chinese and Korean script in the customer,
  subscription, resource group and (where Azure's naming rules allow any letters: alert rules)
  resource names, e.g. "Zakłady Łódź", "Čeština s.r.o.", "Ελληνικά", "Кириллица", "日本語の顧客",
  "中文客户", "한국어 고객";
- 45 subscriptions (a scope section, a per-subscription view), about 3,000 recommendations in
  all five categories, reservation variants;
- savings in PLN, CZK, EUR, USD, JPY, CNY and KRW (JPY and KRW without minor units), at
  plausible amounts for each (right-size goes down, savings are a fraction of what is paid).

Each subscription names its Entra tenant (``tenantId``); ``customers`` lists the three customers
with their tenant and subscriptions, and ``customer`` is the name a report over all of them
shows. The same seed always gives the same data; nothing generated is committed.

``python -m devhost.sample_tenant --big --out FILE`` writes it; ``python -m devhost --tenant big``
and ``python -m devhost.demo --tenant big`` serve it without a file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from devhost.sample_tenant import _guid, _Subscription, _subscription_recommendations

SUBSCRIPTIONS = 45
SEED = 11
# A report over every subscription shows this (all the scripts in one line, for the cover).
DEMO_CUSTOMER = "Zakłady Łódź · Ελληνικά · Кириллица · 日本語の顧客 · 中文客户 · 한국어 고객"


@dataclass(frozen=True)
class Locale:
    """How one part of a customer names things."""

    company: str
    currency: str
    env: str
    subscription_names: tuple[str, ...]
    resource_groups: tuple[str, ...]
    local_names: tuple[str, ...]  # alert rule names
    workloads: tuple[str, ...]  # ASCII words for resource types that allow only those


@dataclass(frozen=True)
class Customer:
    name: str
    locales: tuple[Locale, ...]


CUSTOMERS: tuple[Customer, ...] = (
    Customer(
        "Zakłady Łódź S.A.",
        (
            Locale(
                "Zakłady Łódź",
                "PLN",
                "pl",
                ("Produkcja", "Księgowość", "Sprzedaż", "Magazyn Łódź", "Środowisko testowe"),
                (
                    "rg-produkcja-łódź",
                    "rg-księgowość",
                    "rg-sprzedaż-wrocław",
                    "RG-Magazyn-Łódź",
                    "rg-żurawie",
                ),
                ("alert-zużycie-procesora", "alert-błędy-płatności", "alert-kopia-zapasowa"),
                ("erp", "mes", "crm", "wms", "bi"),
            ),
            Locale(
                "Čeština s.r.o.",
                "CZK",
                "cz",
                ("Účetnictví", "Výroba Brno", "Obchod", "Vývoj a testování", "Sdílené služby"),
                ("rg-účetnictví", "rg-výroba-brno", "rg-sdílené-síť", "RG-Řízení-Skladu"),
                ("alert-využití-cpu", "alert-chyby-plateb", "alert-záloha"),
                ("erp", "eshop", "dms", "api"),
            ),
        ),
    ),
    Customer(
        "日本語の顧客 株式会社",
        (
            Locale(
                "日本語の顧客",
                "JPY",
                "jp",
                ("本番環境", "開発環境", "会計システム", "在庫管理", "東京データ基盤"),
                ("rg-本番-東京", "rg-会計", "rg-在庫管理", "rg-共有ネットワーク"),
                ("アラート-CPU使用率", "アラート-決済エラー", "アラート-バックアップ"),
                ("web", "api", "erp", "batch"),
            ),
            Locale(
                "中文客户",
                "CNY",
                "cn",
                ("生产环境", "财务系统", "仓库管理", "测试环境"),
                ("rg-上海-生产", "rg-财务", "rg-仓库", "rg-共享网络"),
                ("警报-CPU使用率", "警报-支付错误", "警报-备份"),
                ("shop", "erp", "iot", "bi"),
            ),
            Locale(
                "한국어 고객",
                "KRW",
                "kr",
                ("운영 환경", "회계 시스템", "재고 관리", "개발 환경"),
                ("rg-서울-운영", "rg-회계", "rg-재고", "rg-공유-네트워크"),
                ("경고-CPU-사용률", "경고-결제-오류", "경고-백업"),
                ("web", "api", "ml", "crm"),
            ),
        ),
    ),
    Customer(
        "Ελληνικά & Кириллица Holdings",
        (
            Locale(
                "Ελληνικά",
                "EUR",
                "gr",
                ("Παραγωγή", "Λογιστήριο", "Αποθήκη Αθήνα", "Δοκιμές"),
                ("rg-παραγωγή-αθήνα", "rg-λογιστήριο", "rg-αποθήκη", "rg-κοινόχρηστο-δίκτυο"),
                ("ειδοποίηση-χρήση-cpu", "ειδοποίηση-σφάλματα-πληρωμών", "ειδοποίηση-αντίγραφα"),
                ("erp", "web", "pos", "bi"),
            ),
            Locale(
                "Кириллица",
                "USD",
                "ru",
                ("Производство", "Бухгалтерия", "Склад Москва", "Тестовая среда"),
                ("rg-производство", "rg-бухгалтерия", "rg-склад-москва", "RG-Общая-Сеть"),
                ("оповещение-загрузка-цп", "оповещение-ошибки-платежей", "оповещение-резерв"),
                ("erp", "web", "crm", "etl"),
            ),
        ),
    ),
)


def build_big_tenant(subscriptions: int = SUBSCRIPTIONS, seed: int = SEED) -> dict[str, Any]:
    """The big sample as the stand-in serves it (see the module docstring); deterministic.

    Subscriptions go round the three customers (tenants), and within a customer round its
    locales; each has 25 to 110 recommendations."""
    if subscriptions < len(CUSTOMERS):
        raise ValueError(f"the big sample needs at least {len(CUSTOMERS)} subscriptions")
    rng = random.Random(seed)
    tenant_ids = [_guid(rng) for _ in CUSTOMERS]
    result: list[dict[str, Any]] = []
    members: list[list[str]] = [[] for _ in CUSTOMERS]
    for index in range(subscriptions):
        c = index % len(CUSTOMERS)
        customer = CUSTOMERS[c]
        turn = index // len(CUSTOMERS)
        locale = customer.locales[turn % len(customer.locales)]
        base = locale.subscription_names[(turn // len(customer.locales)) % len(locale.subscription_names)]
        number = turn // (len(customer.locales) * len(locale.subscription_names))
        name = f"{locale.company} – {base}" + (f" {number + 1}" if number else "")
        sub = _Subscription(
            subscription_id=_guid(rng),
            display_name=name,
            env=locale.env,
            currency=locale.currency,
            resource_groups=locale.resource_groups,
            tenant_id=tenant_ids[c],
            workloads=locale.workloads,
            local_names=locale.local_names,
        )
        count = rng.randint(25, 110)
        result.append(
            {
                "subscriptionId": sub.subscription_id,
                "displayName": sub.display_name,
                "tenantId": sub.tenant_id,
                "recommendations": _subscription_recommendations(rng, sub, count),
            }
        )
        members[c].append(sub.subscription_id)
    return {
        "customer": DEMO_CUSTOMER,
        "customers": [
            {"name": customer.name, "tenantId": tenant_ids[c], "subscriptionIds": members[c]}
            for c, customer in enumerate(CUSTOMERS)
        ],
        "subscriptions": result,
    }
