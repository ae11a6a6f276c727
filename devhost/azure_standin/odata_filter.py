"""The ``$filter`` of Advisor's recommendations listing (api-version 2020-01-01 grammar):
:func:`parse_filter` compiles ``eq`` comparisons of Category, ResourceGroup, ResourceId and
RecommendationTypeGuid, joined with ``and`` / ``or`` and parentheses, into a predicate over ARM
recommendation objects, or raises :class:`FilterError`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .constants import _ADVISOR


class FilterError(ValueError):
    """A malformed or unsupported ``$filter``; the message says where."""


def recommendation_resource_group(rec: Mapping[str, Any]) -> str:
    """The resource group in a recommendation's id ("" for subscription-level ones)."""
    match = re.search(r"/resourceGroups/([^/]+)/", rec.get("id", ""), re.IGNORECASE)
    return match.group(1) if match else ""


def recommendation_resource_id(rec: Mapping[str, Any]) -> str:
    """The id of the resource a recommendation is about."""
    meta = (rec.get("properties") or {}).get("resourceMetadata") or {}
    if meta.get("resourceId"):
        return str(meta["resourceId"])
    rec_id = str(rec.get("id", ""))
    cut = rec_id.lower().rfind(_ADVISOR + "recommendations/")
    return rec_id[:cut] if cut >= 0 else rec_id


_FILTER_PROPERTIES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "category": lambda r: str((r.get("properties") or {}).get("category") or ""),
    "resourcegroup": recommendation_resource_group,
    "resourceid": recommendation_resource_id,
    "recommendationtypeguid": lambda r: str((r.get("properties") or {}).get("recommendationTypeId") or ""),
}
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<str>'(?:[^']|'')*'?)|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)

Predicate = Callable[[Mapping[str, Any]], bool]


def parse_filter(text: str) -> Predicate:
    """Compile a ``$filter`` into a predicate over ARM recommendation objects.

    ``or`` binds looser than ``and``; property names, keywords and values compare
    case-insensitively. Raises :class:`FilterError` for anything else.
    """
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    stripped_end = len(text.rstrip())
    while pos < stripped_end:
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise FilterError(f"unexpected character {text[pos:].lstrip()[:1]!r} at position {pos}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            if len(value) < 2 or not value.endswith("'") or (value.endswith("''") and _unbalanced(value)):
                raise FilterError(f"unterminated string literal at position {match.start(kind)}")
            value = value[1:-1].replace("''", "'")
        tokens.append((kind, value, match.start(kind)))
        pos = match.end()
    if not tokens:
        raise FilterError("empty filter")
    parser = _FilterParser(tokens, text)
    predicate = parser.parse_or()
    if parser.index != len(tokens):
        _, value, at = tokens[parser.index]
        raise FilterError(f"unexpected {value!r} at position {at}")
    return predicate


def _unbalanced(literal: str) -> bool:
    # "'abc''" is an unterminated literal containing an escaped quote; "'abc'''" is not.
    body = literal[1:]
    quotes = len(body) - len(body.rstrip("'"))
    return quotes % 2 == 0


class _FilterParser:
    def __init__(self, tokens: list[tuple[str, str, int]], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.index = 0

    def _peek_word(self, word: str) -> bool:
        if self.index < len(self.tokens):
            kind, value, _ = self.tokens[self.index]
            return kind == "word" and value.lower() == word
        return False

    def _expect(self, kind: str, what: str) -> str:
        if self.index >= len(self.tokens):
            raise FilterError(f"expected {what} at the end of the filter")
        got_kind, value, at = self.tokens[self.index]
        if got_kind != kind:
            raise FilterError(f"expected {what} at position {at}, got {value!r}")
        self.index += 1
        return value

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self._peek_word("or"):
            self.index += 1
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda rec: any(p(rec) for p in parts)

    def parse_and(self) -> Predicate:
        parts = [self.parse_primary()]
        while self._peek_word("and"):
            self.index += 1
            parts.append(self.parse_primary())
        if len(parts) == 1:
            return parts[0]
        return lambda rec: all(p(rec) for p in parts)

    def parse_primary(self) -> Predicate:
        if self.index < len(self.tokens) and self.tokens[self.index][0] == "lp":
            self.index += 1
            inner = self.parse_or()
            self._expect("rp", "')'")
            return inner
        name = self._expect("word", "a property name")
        getter = _FILTER_PROPERTIES.get(name.lower())
        if getter is None:
            raise FilterError(
                f"'{name}' cannot be filtered on; "
                "use Category, ResourceGroup, ResourceId or RecommendationTypeGuid"
            )
        operator = self._expect("word", "'eq'")
        if operator.lower() != "eq":
            raise FilterError(f"operator '{operator}' is not supported; use 'eq'")
        wanted = self._expect("str", "a quoted value").lower()
        return lambda rec: getter(rec).lower() == wanted
