"""``python -m devhost`` never uses a storage emulator it did not start unless asked.

Its usual Azurite ports (10000-10002) are used only when free; when one is taken it stops with
an error naming the ports and the ways out (``--azurite-ports auto`` or ``B,Q,T``,
``--join-azurite``); joining an emulator that is already running takes ``--join-azurite``, and
then the printout says so. ``main`` runs for real here (Azurite, the Azure stand-in, the
Functions host), with its stop event already set so it prints and stops at once.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost import __main__ as cli
from devhost import azurite as azurite_module
from devhost.azurite import Azurite, free_port, port_taken


@pytest.fixture
def held_port() -> Iterator[int]:
    """A loopback port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def free_ports(n: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


def run(tmp_path: Path, *args: str) -> int:
    stopped = threading.Event()
    stopped.set()
    return cli.main(
        ["--port", "0", "--workers", "1", "--data", str(tmp_path / "azurite"), *args], stop=stopped
    )


def printed_ports(out: str) -> tuple[int, int, int]:
    found = re.search(r"ports (\d+) \(blob\), (\d+) \(queue\), (\d+) \(table\)", out)
    assert found, out
    return int(found[1]), int(found[2]), int(found[3])


def test_taken_usual_ports_stop_it_with_the_ports_and_the_ways_out(
    held_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    queue, table = free_ports(2)
    monkeypatch.setattr(azurite_module, "USUAL_PORTS", (held_port, queue, table))
    assert run(tmp_path) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1 port {held_port} (blob) already in use" in err
    for way_out in (
        "--azurite-ports auto",
        "--azurite-ports B,Q,T",
        "--join-azurite",
        f"{held_port},{queue},{table}",
    ):
        assert way_out in err
    assert not port_taken(queue) and not port_taken(table)  # it started nothing


def test_given_ports_must_be_free_too(
    held_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blob, queue = free_ports(2)
    assert run(tmp_path, "--azurite-ports", f"{blob},{queue},{held_port}") == 2
    assert f"port {held_port} (table) already in use" in capsys.readouterr().err


def test_option_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["--azurite-ports", "1,2"],
        ["--azurite-ports", "7,7,8"],
        ["--join-azurite", "--azurite-ports", "auto"],
    ):
        with pytest.raises(SystemExit) as exited:
            run(tmp_path, *args)
        assert exited.value.code == 2
    assert "--join-azurite needs the ports" in capsys.readouterr().err


def test_join_needs_an_emulator_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ports = free_ports(3)
    assert run(tmp_path, "--join-azurite", "--azurite-ports", ",".join(map(str, ports))) == 2
    assert "nothing to join: no storage emulator answers on 127.0.0.1" in capsys.readouterr().err


@pytest.mark.azurite
def test_auto_starts_its_own_azurite_on_free_ports_and_prints_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "--azurite-ports", "auto") == 0
    out = capsys.readouterr().out
    ports = printed_ports(out)
    assert f"started by devhost; data in {tmp_path / 'azurite'}" in out
    assert (tmp_path / "azurite" / "azurite.log").exists()
    assert not any(port_taken(p) for p in ports)  # and it stopped what it started


@pytest.mark.azurite
def test_a_running_emulator_is_joined_only_when_asked(
    azurite: Azurite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ports = f"{azurite.blob_port},{azurite.queue_port},{azurite.table_port}"
    assert run(tmp_path, "--azurite-ports", ports) == 2
    assert "already in use" in capsys.readouterr().err

    assert run(tmp_path, "--azurite-ports", ports, "--join-azurite") == 0
    out = capsys.readouterr().out
    assert printed_ports(out) == (azurite.blob_port, azurite.queue_port, azurite.table_port)
    assert "joined as asked (--join-azurite)" in out
    assert "data in" not in out  # it does not own that emulator's data
    assert all(port_taken(p) for p in printed_ports(out))  # and it left it running
