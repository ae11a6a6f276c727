"""``python -m openapi`` writes ``openapi/advisor-reports.swagger.json`` from the source beside
it; ``--check`` writes nothing and fails when the file is not what the source builds."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from . import pending, spec

FILE = Path(__file__).resolve().parent / "advisor-reports.swagger.json"


def build() -> dict[str, Any]:
    return pending.apply(spec.core())


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=True) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not FILE.exists() or FILE.read_text(encoding="utf-8") != text:
            print(f"{FILE.name} is out of date: run `python -m openapi`", file=sys.stderr)
            return 1
        return 0
    FILE.write_text(text, encoding="utf-8")
    print(f"wrote {FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
