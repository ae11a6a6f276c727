"""The jinja2 environment for report templates: built once per process, on first use.

Everything is autoescaped (text from the Advisor API is data, never markup) and undefined
names raise (StrictUndefined), so a template typo fails a test instead of printing nothing.

The browser report's one script is the table tools (``_table_tools.html.j2``). The report's
Content-Security-Policy (the ``report_csp`` global) allows exactly that script, by its sha256,
and nothing from anywhere else: no other script runs even if some text escaped escaping, and the
page fetches nothing (images are inline ``data:`` URIs, styles are inline).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.models import IMPACTS, category_label
from shared.summary import Opportunity, ResourceRow, impact_rank, term_months

TEMPLATES_DIR = Path(__file__).parent / "templates"
TABLE_TOOLS_TEMPLATE = "_table_tools.html.j2"
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

_lock = threading.Lock()
_environment: Environment | None = None

_CATEGORY_CSS = {
    "reliability": "rel",
    "security": "sec",
    "performance": "perf",
    "cost": "cost",
    "operational_excellence": "ops",
}
CATEGORY_COLORS = {
    "reliability": "#1d5fbf",
    "security": "#b42318",
    "performance": "#6941c6",
    "cost": "#15803d",
    "operational_excellence": "#b45309",
    "other": "#5b6675",
}
IMPACT_COLORS = {"high": "#b42318", "medium": "#b45309", "low": "#3f6f9f", "other": "#5b6675"}


def is_https_url(value: object) -> bool:
    """Only well-formed https:// URLs become links; anything else is printed as text."""
    if not isinstance(value, str):
        return False
    url = value.strip()
    if not url.lower().startswith("https://") or any(c.isspace() or ord(c) < 32 for c in url):
        return False
    if any(c in url for c in "\"'<>\\`"):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() == "https" and bool(parts.hostname)


def format_money(amount: Decimal | int | float | None, currency: str | None = None) -> str:
    """``EUR 1,234.56``; an amount with no currency says so instead of guessing."""
    if amount is None:
        return ""
    text = f"{Decimal(amount):,.2f}"
    if currency:
        return f"{currency} {text}"
    return f"{text} (currency unknown)"


def format_count(value: int | None) -> str:
    return f"{int(value or 0):,}"


def format_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    text = value.strftime("%d %B %Y, %H:%M")
    offset = value.utcoffset()
    if offset is not None:
        text += " UTC" if not offset else value.strftime(" UTC%z")
    return text


def impact_label(impact: str) -> str:
    return impact.replace("_", " ").capitalize() if impact else "Unknown"


def category_css(category: str) -> str:
    return _CATEGORY_CSS.get(category, "other")


def impact_css(impact: str) -> str:
    return impact if impact in IMPACTS else "other"


def term_label(term: str) -> str:
    """'P3Y' -> '3-year term'; anything else as given."""
    months = term_months(term)
    if months is None:
        return term
    if months % 12 == 0:
        return f"{months // 12}-year term"
    return f"{months}-month term"


def change_text(row: ResourceRow | Opportunity, arrow: str = "\u2192") -> str:
    """What the cost recommendation changes: SKU from -> to, or what to buy and on what basis."""
    parts: list[str] = []
    if row.current_sku and row.target_sku:
        parts.append(f"{row.current_sku} {arrow} {row.target_sku}")
    elif row.target_sku:
        quantity = getattr(row, "quantity", "")
        parts.append(f"{row.target_sku} \u00d7 {quantity}" if quantity else row.target_sku)
    elif row.current_sku:
        parts.append(row.current_sku)
    if row.term:
        parts.append(term_label(row.term))
    if row.lookback_days is not None:
        parts.append(f"{row.lookback_days}-day lookback")
    return " \u00b7 ".join(parts)


def buyer_details(row: ResourceRow, arrow: str = "to") -> str:
    """What a buyer acts on, from Advisor's extendedProperties: for a reservation the SKU,
    quantity, region, term, lookback and scope; for a savings plan the commitment, term,
    lookback and scope; for a right-size or shutdown the SKU change, region and the P95 use
    that justifies it. Only what Advisor gave is printed."""
    parts: list[str] = []
    if row.kind in ("reservation", "savings_plan"):
        if row.commitment:
            parts.append(f"Commit {row.commitment}" + (f" {row.currency}" if row.currency else ""))
        sku = row.target_sku or row.current_sku
        if sku:
            parts.append(f"{sku} \u00d7 {row.quantity}" if row.quantity else sku)
        parts += [p for p in (row.region, term_label(row.term)) if p]
        if row.lookback_days is not None:
            parts.append(f"{row.lookback_days}-day lookback")
        if row.scope:
            parts.append(f"{row.scope} scope")
        return " \u00b7 ".join(parts)
    if row.current_sku and row.target_sku and row.target_sku != row.action:
        parts.append(f"{row.action + ': ' if row.action else ''}{row.current_sku} {arrow} {row.target_sku}")
    elif row.action or row.current_sku:
        parts.append(" ".join(p for p in (row.action, row.current_sku) if p))
    usage = [
        f"{name} {value}%" for name, value in (("CPU", row.cpu_p95), ("memory", row.memory_p95)) if value
    ]
    if usage:
        parts.append("P95 " + ", ".join(usage))
    if row.region:
        parts.append(row.region)
    return " \u00b7 ".join(parts)


def table_tools_scripts(env: Environment) -> list[str]:
    """The text of the inline scripts the table tools include renders (it takes no variables)."""
    return _SCRIPT.findall(env.get_template(TABLE_TOOLS_TEMPLATE).render())


def content_security_policy(scripts: list[str]) -> str:
    """The browser report's policy: these inline scripts (by hash), inline styles, inline images;
    nothing fetched, no forms, no base URL."""
    hashes = (
        " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii") + "'"
            for s in scripts
        )
        or "'none'"
    )
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def _build() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(enabled_extensions=(), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        money=format_money,
        count=format_count,
        date=format_date,
        datetime=format_datetime,
        impact_label=impact_label,
        category_label=category_label,
        category_css=category_css,
        impact_css=impact_css,
        term_label=term_label,
        change=change_text,
        buyer=buyer_details,
        impact_rank=impact_rank,
    )
    env.tests["https_url"] = is_https_url
    env.globals["report_csp"] = content_security_policy(table_tools_scripts(env))
    return env


def report_csp() -> str:
    """The browser report's Content-Security-Policy (what ``report.html.j2`` puts in its head)."""
    return str(get_environment().globals["report_csp"])


def get_environment() -> Environment:
    """The process-wide environment (templates are compiled once and cached by jinja2)."""
    global _environment
    if _environment is None:
        with _lock:
            if _environment is None:
                _environment = _build()
    return _environment
