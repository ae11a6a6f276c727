"""Index an app as the Python worker does when it starts, with the worker's own code, and print
what became of every function as one JSON line. The conformance tests run it in a fresh process,
as the worker imports the app in its own process (and ``app.get_functions()`` can run only once
per app object):

    python -m tests.conformance.worker_harness APP_DIR [SCRIPT_FILE]   # default function_app.py

The steps are the worker's start-up indexing (azure-functions-runtime,
``azure_functions_runtime/handle_event.py``: ``worker_init_request`` ->
``load_function_metadata`` -> ``index_functions``): the app folder becomes the current folder
and the first entry of ``sys.path``; ``bindings.meta.load_binding_registry()``;
``loader.index_function_app(path)``; ``Registry.add_indexed_function`` for each function, one
at a time so that every refusal is reported, not only the first; and, when all load,
``loader.process_indexed_function`` over the whole list, which is what the worker runs (it also
builds every function's metadata message). The worker comes from ``.tools/worker`` (through
``devhost.functions_host.worker_index.installed_worker``); the ``protos`` it is handed is
``worker_index.PROTOS``, the only part that is not the worker's.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def _reason(exc: Exception, load_error: type) -> str:
    """The worker's own message for its refusals; type and message for anything else it raises."""
    return str(exc) if isinstance(exc, load_error) else f"{type(exc).__name__}: {exc}"


def index(app_dir: Path, script_file: str) -> dict[str, Any]:
    from devhost.functions_host.worker_index import PROTOS, installed_worker

    worker = installed_worker()
    if worker is None:
        return {"error": "the Python worker is not installed in .tools/worker (make setup)"}
    os.chdir(app_dir)
    sys.path.insert(0, str(app_dir))
    result: dict[str, Any] = {"worker": worker.version, "functions": [], "metadata": None, "error": None}
    try:
        functions = worker.loader.index_function_app(str(app_dir / script_file))
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    for fn in functions:
        bindings = [{"name": b.name, "type": b.type, "direction": b.direction} for b in fn.get_bindings()]
        entry: dict[str, Any] = {"name": fn.get_function_name(), "bindings": bindings, "error": None}
        try:
            worker.registry().add_indexed_function(fn, PROTOS)
        except Exception as exc:
            entry["error"] = _reason(exc, worker.load_error)
        result["functions"].append(entry)
    try:
        metadata, _ = worker.loader.process_indexed_function(
            PROTOS, worker.registry(), functions, str(app_dir)
        )
        result["metadata"] = [{"name": m.name, "bindings": sorted(m.bindings)} for m in metadata]
    except Exception as exc:
        result["error"] = _reason(exc, worker.load_error)
    return result


if __name__ == "__main__":
    args = sys.argv[1:]
    outcome = index(Path(args[0]).resolve(), args[1] if len(args) > 1 else "function_app.py")
    print(json.dumps(outcome), flush=True)
