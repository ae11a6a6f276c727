"""Conformance: a publish ships the app and nothing else.

``func azure functionapp publish`` (and a zip deploy made from this folder) packs the project
folder minus what ``.funcignore`` lists, in gitignore syntax. Here git itself reads the file as
a gitignore (``git ls-files --others --exclude-from``) over a copy of the repository's tree
(every tracked file, as an empty file) plus the dev-only files that are never tracked: a
virtualenv, node_modules, the worker tools, caches, devhost's data, the demo's output,
local.settings.json. What is left is what a publish would ship.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.conformance

APP = {
    "function_app.py",
    "host.json",
    "requirements.txt",
    "shared",
    "activities",
    "orchestrators",
    "triggers",
}
# Single files the app reads at run time from outside its packages; their folders' other
# files (the code that builds them) stay behind.
APP_FILES = {"openapi/advisor-reports.swagger.json"}
NEVER_TRACKED = [
    ".venv/bin/python",
    ".venv/lib/python3.11/site-packages/azure/functions/__init__.py",
    "node_modules/azurite/package.json",
    ".tools/worker/azure_functions_runtime/functions.py",
    ".tools/worker/.installed",
    ".system-deps",
    ".pytest_cache/v/cache/lastfailed",
    ".ruff_cache/0.17.6/123",
    ".hypothesis/constants/2e2fe15bf5c18e2b",  # Hypothesis's cache (the schemathesis run)
    "shared/__pycache__/models.cpython-311.pyc",
    "activities/__pycache__/report_steps.cpython-311.pyc",
    ".devhost/azurite/__azurite_db_table__.json",
    ".devhost/azurite/azurite.log",
    "out/report.pdf",
    "local.settings.json",
    "__azurite_db_blob__.json",
    "__blobstorage__/blob",
    ".git/HEAD",
    ".vscode/settings.json",
    # what the app ships with its rendering: templates and fonts under shared/
    "shared/rendering/templates/new_section.html",
    "shared/rendering/fonts/NotoSans-Regular.ttf",
]


def tracked_files() -> list[str]:
    git = shutil.which("git")
    assert git, "git is needed to read the repository's files"
    listed = subprocess.run([git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True)
    return [path for path in listed.stdout.split("\0") if path]


def shipped(paths: list[str], tmp_path: Path) -> set[str]:
    """The paths a publish keeps, as git reads ``.funcignore``."""
    tree = tmp_path / "tree"
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    for path in paths:
        if path.startswith(".git/"):
            continue  # git's own folder: func never ships it either (".git*")
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).touch()
    kept = subprocess.run(
        ["git", "ls-files", "--others", "-z", f"--exclude-from={ROOT / '.funcignore'}"],
        cwd=tree, capture_output=True, check=True, text=True,
    )  # fmt: skip
    return {path for path in kept.stdout.split("\0") if path}


@pytest.fixture(scope="module")
def publish(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], set[str]]:
    paths = sorted(set(tracked_files()) | set(NEVER_TRACKED))
    return paths, shipped(paths, tmp_path_factory.mktemp("funcignore"))


def test_the_app_is_shipped_whole(publish: tuple[list[str], set[str]]) -> None:
    paths, kept = publish
    for name in ("function_app.py", "host.json", "requirements.txt"):
        assert name in kept
    for package in ("shared", "activities", "orchestrators", "triggers"):
        assert f"{package}/__init__.py" in kept
    app_files = [p for p in paths if p.split("/")[0] in APP and "__pycache__" not in p]
    app_files += sorted(APP_FILES)
    assert [p for p in app_files if p not in kept] == []
    assert any(p.startswith("shared/rendering/templates/") for p in set(tracked_files()) & kept)
    assert "shared/rendering/templates/new_section.html" in kept
    assert "shared/rendering/fonts/NotoSans-Regular.ttf" in kept
    # the PDF's fonts and their licences, as they are in the repository
    fonts = {p for p in tracked_files() if p.startswith("shared/rendering/fonts/")}
    assert {f"shared/rendering/fonts/{f}" for f in ("DejaVuSans.ttf", "WenQuanYiMicroHei-CJK.ttf")} <= fonts
    assert fonts <= kept


def test_nothing_else_is_shipped(publish: tuple[list[str], set[str]]) -> None:
    _, kept = publish
    assert sorted(p for p in kept if p.split("/")[0] not in APP and p not in APP_FILES) == []
    assert sorted(p for p in kept if "__pycache__" in p) == []
