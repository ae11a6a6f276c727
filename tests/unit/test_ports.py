"""The storage interfaces the pipeline is written against (``shared.ports``) are met by both
the production stores and the in-memory fakes the unit tier uses: every method exists and
takes the interface's parameters, by the same names and kinds, and asks for nothing more."""

from __future__ import annotations

import inspect

import pytest

from shared.blob_store import BlobStore
from shared.ports import FileStore, ReportRemoval, ReportTable
from shared.table_store import TableStore
from tests.fakes import MemoryFiles, MemoryTable


def interface_methods(protocol: type) -> list[str]:
    return [
        name
        for name, value in vars(protocol).items()
        if inspect.isfunction(value) and not name.startswith("_")
    ]


@pytest.mark.parametrize(
    ("protocol", "implementation"),
    [
        (ReportTable, TableStore),
        (ReportTable, MemoryTable),
        (FileStore, BlobStore),
        (FileStore, MemoryFiles),
        (ReportRemoval, TableStore),
        (ReportRemoval, MemoryTable),
    ],
)
def test_the_implementation_takes_what_the_interface_gives(protocol, implementation):
    names = interface_methods(protocol)
    assert len(names) >= 4
    for name in names:
        wanted = inspect.signature(getattr(protocol, name)).parameters
        have = inspect.signature(getattr(implementation, name)).parameters
        for param in wanted.values():
            assert param.name in have, f"{implementation.__name__}.{name} lacks {param.name}"
            assert have[param.name].kind == param.kind, f"{implementation.__name__}.{name}({param.name})"
        extra = [
            p for n, p in have.items() if n not in wanted and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        assert all(p.default is not p.empty for p in extra), f"{implementation.__name__}.{name} needs more"
