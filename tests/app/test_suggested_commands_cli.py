"""A command a message suggests can be pasted as it is: a library folder's name that is not plain ASCII
(or has spaces) is quoted the way the shell reads it back (``'my a1111 ünï'``), never escaped (JSON's
``"my a1111 \\u00fcn\\u00ef"`` named no folder when pasted).

Two machines (two data folders) on one catalog on a PostgreSQL server: ``a`` adds the folder, ``b`` has
not mapped it; ``b``'s listing is read from ``main.py`` as a user runs it, and the command it suggests is
run as pasted."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from app.cli import EXIT_OK
from tests.app.machines_on_server import Run
from tests.app.main_process import run_main
from tests.app.organize.ops_library import linked_lora

NAME = "my a1111 ünï"


def test_the_roots_map_command_suggested_for_a_non_ascii_name_works_when_pasted(
    on: Run, pg_catalog_url: str, tmp_path: Path
) -> None:
    store = tmp_path / "nas" / "sd"
    linked_lora(store)
    assert on("a", "roots", "add", str(store), "--name", NAME)[0] == EXIT_OK
    assert on("a", "scan", "--no-hash")[0] == EXIT_OK
    as_b = ("--data-dir", str(tmp_path / "b"), "--catalog", pg_catalog_url)

    listing = run_main(*as_b, "roots", check=True).stdout
    listed = json.loads(run_main(*as_b, "roots", "--json", check=True).stdout)[0]["not_here"]
    scanned = run_main(*as_b, "scan", "--no-hash")

    (suggested,) = re.findall(r"`(atelier roots map [^`]*)`", listing)
    assert suggested == "atelier roots map 'my a1111 ünï' PATH"
    assert listed == f"not mapped on this machine: {suggested}"
    assert f"say where this machine reaches it first: {suggested}" in scanned.stdout + scanned.stderr
    words = shlex.split(suggested.replace("PATH", shlex.quote(str(store))))
    mapped = run_main(*as_b, *words[1:], check=True)
    assert mapped.stdout.strip() == f"On this machine {NAME!r} is {store}"
    assert "not mapped" not in run_main(*as_b, "roots", check=True).stdout
