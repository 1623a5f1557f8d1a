"""``python main.py scan / search / show / inspect`` over the files that used to stop or hang them: named
pipes, sockets, link loops, dangling links, names that are not UTF-8, names of 255 bytes.

The output is read as bytes: a name that is not UTF-8 is printed as its own bytes (what ``ls`` shows,
and what a shell passes back to ``show``). ``PYTHONIOENCODING=utf-8`` makes the child's streams as
strict as a user's UTF-8 terminal, where printing such a name used to end in a traceback.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.in_process import run_in_process
from tests.app.main_process import MAIN, ROOT, main_env
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", (4, 320)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ("F16", ()),
}
NOT_UTF8 = b"\xff\xfe-old.safetensors"
LONGEST = "l" * (255 - len(".safetensors")) + ".safetensors"


def run(*args: str | bytes, data_dir: Path, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """``python main.py ARGS`` with bytes in and out, and streams as strict as a UTF-8 terminal's."""
    env = main_env({"ATELIER_DATA_DIR": str(data_dir), "PYTHONIOENCODING": "utf-8"})
    return subprocess.run(
        [os.fsencode(sys.executable), os.fsencode(MAIN), *(os.fsencode(a) for a in args)],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def odd_library(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "lib"
    write_safetensors(root / "good.safetensors", LORA, seed=1)
    write_safetensors(root / os.fsdecode(NOT_UTF8), LORA, seed=2)
    write_safetensors(root / LONGEST, LORA, seed=3)
    write_safetensors(root / "sidecar.safetensors", LORA, seed=4)
    os.mkfifo(root / "sidecar.civitai.info")
    os.mkfifo(root / "pipe.safetensors")
    (root / "loop.safetensors").symlink_to(root / "loop.safetensors")
    (root / "dangling.safetensors").symlink_to(root / "gone.safetensors")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "socket.safetensors"))
    yield root
    sock.close()


@pytest.mark.slow  # nine runs of main.py, as a user would type them
@pytest.mark.timeout(120)
def test_scan_search_and_show_every_odd_file(odd_library: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    scan = run("scan", str(odd_library), "--no-hash", "--no-lookup", data_dir=data)
    assert scan.returncode == 0, scan.stderr
    out = scan.stdout + scan.stderr
    assert b"8 new" in out
    assert b"4 unreadable" in out
    assert (
        f"{odd_library / 'pipe.safetensors'}: a named pipe (FIFO), not a file; it was not opened".encode()
        in out
    )
    assert f"{odd_library / 'sidecar.civitai.info'}: a named pipe (FIFO)".encode() in out

    search = run("search", data_dir=data)
    assert search.returncode == 0, search.stderr
    for name in (NOT_UTF8, LONGEST.encode(), b"pipe.safetensors", b"loop.safetensors", b"socket.safetensors"):
        assert name in search.stdout
    assert b"loop.safetensors [unreadable]" in search.stdout

    by_path = run("show", os.fsencode(odd_library) + b"/" + NOT_UTF8, data_dir=data)
    assert by_path.returncode == 0, by_path.stderr
    assert b"file name:         " + NOT_UTF8 in by_path.stdout
    asset_id = next(line.split()[0] for line in search.stdout.splitlines() if NOT_UTF8 in line).decode()
    assert run("show", asset_id, data_dir=data).stdout == by_path.stdout

    as_json = run("show", asset_id, "--json", data_dir=data)
    shown = json.loads(as_json.stdout)  # strict JSON: the text readable, the exact bytes beside it
    assert shown["path"] == f"{odd_library}/\ufffd\ufffd-old.safetensors"
    assert base64.b64decode(shown["path_b64"]) == os.fsencode(odd_library) + b"/" + NOT_UTF8

    loop = run("show", str(odd_library / "loop.safetensors"), data_dir=data)
    assert loop.returncode == 0, loop.stderr
    assert b"status:            unreadable" in loop.stdout
    assert b"a symbolic link that loops back on itself" in loop.stdout

    long_name = run("show", str(odd_library / LONGEST), data_dir=data)
    assert long_name.returncode == 0, long_name.stderr
    assert b"status:            ok" in long_name.stdout

    rescan = run("scan", "--no-hash", "--no-lookup", data_dir=data)
    assert rescan.returncode == 0, rescan.stderr
    # Nothing changed: the unreadable four are looked at again (a link may work again), still unreadable.
    assert b"(0 new, 0 changed, 8 unchanged; 4 unreadable)" in rescan.stdout + rescan.stderr


@pytest.mark.timeout(30)
def test_inspect_of_a_named_pipe_returns_at_once_with_the_reason(odd_library: Path, tmp_path: Path) -> None:
    result = run(
        "inspect",
        "--json",
        str(odd_library / "pipe.safetensors"),
        str(odd_library / "dangling.safetensors"),
        str(odd_library / "sidecar.safetensors"),
        data_dir=tmp_path / "data",
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    pipe, dangling, with_sidecar = json.loads(result.stdout)
    assert (pipe["status"], pipe["status_reason"]) == (
        "unreadable",
        "a named pipe (FIFO), not a file; it was not opened",
    )
    assert (dangling["status"], dangling["status_reason"]) == (
        "unreadable",
        f"a symbolic link to {odd_library / 'gone.safetensors'}, which does not exist",
    )
    assert with_sidecar["status"] == "ok"  # its sidecar is a pipe: a sidecar problem, not the model's
    assert with_sidecar["sidecar_problems"] == [
        "sidecar.civitai.info: a named pipe (FIFO), not a file; it was not opened"
    ]

    text = run("inspect", str(odd_library / "socket.safetensors"), data_dir=tmp_path / "data", timeout=20)
    assert b"status:       unreadable - a socket, not a file; it was not opened" in text.stdout


@pytest.mark.timeout(60)
def test_show_lists_sidecar_problems_after_the_scan_that_found_them(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    model = write_safetensors(root / "withbad.safetensors", LORA, seed=1)
    (root / "withbad.json").write_text('{"activation text": NaN}')
    (root / "withbad.civitai.info").write_text('{"id": ' + "9" * 5000 + "}")
    os.mkfifo(root / "withbad.preview.png")
    data = tmp_path / "data"
    for _ in range(2):  # the second scan reads no sidecar: the catalog itself keeps no trace of them
        # (the scans only set the catalog up: through the CLI's entry point in this process)
        run_in_process("scan", str(root), "--no-hash", "--no-lookup", data_dir=data, check=True)

    text = run("show", str(model), data_dir=data)
    as_json = run("show", str(model), "--json", data_dir=data)

    assert text.returncode == 0, text.stderr
    assert b"sidecar problem:   withbad.json: holds NaN, which is not a JSON number\n" in text.stdout
    assert b"sidecar problem:   withbad.civitai.info: holds an integer of 5,000 digits" in text.stdout
    assert b"sidecar problem:   withbad.preview.png: a named pipe (FIFO), not a file" in text.stdout
    assert sorted(json.loads(as_json.stdout)["sidecar_problems"]) == [
        "withbad.civitai.info: holds an integer of 5,000 digits, too large to store",
        "withbad.json: holds NaN, which is not a JSON number",
        "withbad.preview.png: a named pipe (FIFO), not a file; it was not opened",
    ]
