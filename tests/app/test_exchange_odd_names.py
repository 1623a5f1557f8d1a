"""``python main.py export`` / ``import`` with a file name that is not UTF-8 (Linux names are bytes).

Such a name reaches Python as lone surrogates. The JSON list writes them as ``\\udcff`` escapes (the
document stays valid UTF-8 JSON, every other name stays readable), the CSV list as the name's real bytes;
reading either gives back exactly the path the file has, so the list matches the file again.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.exchange import read_list
from tests.app.main_process import MAIN, ROOT, main_env
from tests.app.restricted_process import read_only_mount
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", (4, 320)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", (320, 4)),
}
NOT_UTF8 = b"bad\xff\xfename.safetensors"
READABLE = "模型-é.safetensors"


def run(*args: str, data_dir: Path, wrapper: list[str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """``python main.py ARGS`` with streams as strict as a UTF-8 terminal's."""
    env = main_env({"ATELIER_DATA_DIR": str(data_dir), "PYTHONIOENCODING": "utf-8"})
    command = [*(wrapper or []), sys.executable, str(MAIN), *args]
    return subprocess.run(command, capture_output=True, env=env, cwd=ROOT, timeout=60, check=False)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A data folder whose library holds a non-UTF-8 name and a readable unicode one, scanned and hashed."""
    base = tmp_path_factory.mktemp("odd-export")
    root = base / "lib"
    write_safetensors(root / os.fsdecode(NOT_UTF8), LORA, seed=1)
    write_safetensors(root / READABLE, LORA, seed=2)
    data = base / "data"
    result = run("scan", str(root), "--no-lookup", data_dir=data)
    assert result.returncode == 0, result.stderr
    return data, root


@pytest.mark.slow  # several runs of main.py, as a user would type them
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_and_import_give_back_the_exact_path(
    scanned: tuple[Path, Path], tmp_path: Path, fmt: str
) -> None:
    data, root = scanned
    odd_path = os.fsdecode(os.fsencode(root) + b"/" + NOT_UTF8)
    target = tmp_path / f"library.{fmt}"

    exported = run("export", str(target), data_dir=data)

    assert exported.returncode == 0, exported.stderr
    assert exported.stderr == b""
    raw = target.read_bytes()
    if fmt == "json":
        text = raw.decode("utf-8")  # valid UTF-8 throughout: the odd bytes are JSON escapes
        assert '"path": "' + str(root) + '/bad\\udcff\\udcfename.safetensors"' in text
        assert READABLE in text  # a real unicode name is written as itself, not as escapes
        paths = {asset["path"] for asset in json.loads(text)["assets"]}
        assert paths == {odd_path, str(root / READABLE)}
    else:
        assert (
            os.fsencode(root) + b"/" + NOT_UTF8 in raw
        )  # the name's real bytes, as the file system has them
        assert READABLE.encode() in raw
    assert {entry.path for entry in read_list(target)} == {odd_path, str(root / READABLE)}
    assert os.fsdecode(NOT_UTF8) in {entry.file_name for entry in read_list(target)}

    # Into the same library: both rows are matched (by hash) to the files they came from.
    back = run("import", str(target), data_dir=data)
    assert back.returncode == 0, back.stderr
    assert b"2 of 2 rows in the list are in this library" in back.stdout
    # Into an empty one: the odd name is listed as missing, as its bytes, without a traceback.
    elsewhere = run("import", str(target), "--json", data_dir=tmp_path / "empty")
    assert elsewhere.returncode == 0, elsewhere.stderr
    rows = json.loads(elsewhere.stdout)["missing"]
    assert all(row["file_name"].encode("utf-8") for row in rows)  # strict JSON: U+FFFD, no lone surrogates
    missing = {
        os.fsdecode(base64.b64decode(row["file_name_b64"])) if "file_name_b64" in row else row["file_name"]
        for row in rows
    }  # the exact bytes beside, by the rule every --json output follows (app.serialize.json_text)
    assert missing == {os.fsdecode(NOT_UTF8), READABLE}


def test_export_of_a_non_utf8_name_from_a_read_only_data_folder(
    scanned: tuple[Path, Path], tmp_path: Path
) -> None:
    data, root = scanned
    prefix = read_only_mount(data)
    if prefix is None:
        pytest.skip("no read-only bind mount here (needs root or unprivileged user and mount namespaces)")
    target = tmp_path / "library.csv"

    exported = run("export", str(target), data_dir=data, wrapper=prefix)

    assert exported.returncode == 0, exported.stderr
    assert os.fsdecode(os.fsencode(root) + b"/" + NOT_UTF8) in {entry.path for entry in read_list(target)}
