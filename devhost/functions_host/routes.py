"""HTTP trigger route templates, matched the way the Functions host (ASP.NET routing) does.

Supported: literal segments (case-insensitive), ``{name}``, optional ``{name?}``, defaults
``{name=value}``, catch-all ``{*rest}``, and the inline constraints ``int``, ``long``,
``bool``, ``double``, ``float``, ``decimal``, ``guid``, ``alpha``, ``datetime``,
``minlength(n)``, ``maxlength(n)``, ``length(n[,m])``, ``min(n)``, ``max(n)``,
``range(n,m)`` and ``regex(...)``, several chained (``{id:int:min(1)}``). Routes are tried in
ASP.NET's precedence order: literals before constrained parameters before parameters before
optional ones before catch-alls.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote

_PARAM = re.compile(
    r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)((?::[a-z]+(?:\((?:[^()]|\([^()]*\))*\))?)*)(\?)?(?:=([^}]*))?\}"
)
_CONSTRAINT = re.compile(r":([a-z]+)(?:\(((?:[^()]|\([^()]*\))*)\))?")


def _is_number(kind: type) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            kind(value)
        except ValueError:
            return False
        return True

    return check


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _constraint(name: str, arg: str | None) -> Callable[[str], bool]:
    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda v: bool(re.fullmatch(r"-?\d+", v)) and -(2**31) <= int(v) < 2**31,
        "long": lambda v: bool(re.fullmatch(r"-?\d+", v)) and -(2**63) <= int(v) < 2**63,
        "bool": lambda v: v.lower() in ("true", "false"),
        "double": _is_number(float),
        "float": _is_number(float),
        "decimal": _is_number(float),
        "guid": _is_guid,
        "alpha": lambda v: bool(re.fullmatch(r"[A-Za-z]+", v)),
        "datetime": _is_datetime,
    }
    if name in simple:
        return simple[name]
    args = [a.strip() for a in (arg or "").split(",")] if arg is not None else []
    if name == "minlength":
        return lambda v: len(v) >= int(args[0])
    if name == "maxlength":
        return lambda v: len(v) <= int(args[0])
    if name == "length":
        if len(args) == 2:
            return lambda v: int(args[0]) <= len(v) <= int(args[1])
        return lambda v: len(v) == int(args[0])
    if name in ("min", "max", "range"):

        def bounded(v: str) -> bool:
            if not re.fullmatch(r"-?\d+", v):
                return False
            n = int(v)
            if name == "min":
                return n >= int(args[0])
            if name == "max":
                return n <= int(args[0])
            return int(args[0]) <= n <= int(args[1])

        return bounded
    if name == "regex":
        pattern = re.compile(arg or "", re.IGNORECASE)
        return lambda v: bool(pattern.search(v))
    raise ValueError(f"route constraint {name!r} is not supported")


@dataclass
class RouteTemplate:
    template: str
    regex: re.Pattern[str]
    constraints: dict[str, list[Callable[[str], bool]]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    precedence: tuple[int, ...] = ()

    def match(self, path: str) -> dict[str, str] | None:
        """Route parameters for ``path`` (relative to the route prefix, no leading slash)."""
        found = self.regex.fullmatch(path)
        if not found:
            return None
        params: dict[str, str] = {}
        for name, value in found.groupdict().items():
            if value is None or value == "":
                if name in self.defaults:
                    params[name] = self.defaults[name]
                continue
            value = unquote(value)
            if not all(check(value) for check in self.constraints.get(name, [])):
                return None
            params[name] = value
        return params


def compile_route(template: str) -> RouteTemplate:
    template = template.strip().strip("/")
    constraints: dict[str, list[Callable[[str], bool]]] = {}
    defaults: dict[str, str] = {}
    precedence: list[int] = []
    pattern = ""
    segments = template.split("/") if template else []
    for index, segment in enumerate(segments):
        separator = "/" if index else ""
        only = _PARAM.fullmatch(segment)
        if only:
            star, name, constraint_text, optional, default = only.groups()
            checks = [_constraint(c, a) for c, a in _CONSTRAINT.findall(constraint_text or "")]
            if checks:
                constraints[name] = checks
            if default is not None:
                defaults[name] = default
            if star:
                pattern += f"(?:{separator}(?P<{name}>.*))?" if separator else f"(?P<{name}>.*)"
                precedence.append(4)
            elif optional or default is not None:
                pattern += f"(?:{separator}(?P<{name}>[^/]+))?" if separator else f"(?P<{name}>[^/]*)"
                precedence.append(3)
            else:
                pattern += f"{separator}(?P<{name}>[^/]+)"
                precedence.append(1 if checks else 2)
            continue
        # A segment with literal text, possibly mixed with parameters ("{name}.{ext}").
        piece, position, has_param = "", 0, False
        for found in _PARAM.finditer(segment):
            piece += re.escape(segment[position : found.start()])
            star, name, constraint_text, optional, default = found.groups()
            checks = [_constraint(c, a) for c, a in _CONSTRAINT.findall(constraint_text or "")]
            if checks:
                constraints[name] = checks
            piece += f"(?P<{name}>[^/]+?)"
            position, has_param = found.end(), True
        piece += re.escape(segment[position:])
        pattern += separator + piece
        precedence.append(1 if has_param else 0)
    return RouteTemplate(
        template, re.compile(pattern, re.IGNORECASE), constraints, defaults, tuple(precedence)
    )


def precedence_key(route: RouteTemplate) -> tuple:
    # Lower sorts first: more literal segments first, then more segments.
    return (*route.precedence, 9) if route.precedence else (9,)
