"""``--json`` output of a library whose names are not UTF-8 is valid JSON for a strict parser: no lone
surrogate escapes (``"caf\\udce9"``, which serde_json and Go reject). Each undecodable byte is U+FFFD in
the text, and the name's exact bytes stand beside it as ``<field>_b64``, from which a script finds the file.
The commands run through the CLI entry, as a user types them, on real files from tests/factory."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from tests.app.in_process import run_in_process as run_main
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", (4, 320)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ("F16", ()),
}
FOLDER = b"mod\xe8les"  # latin-1: not UTF-8
NAME = b"caf\xe9_latin1_\xff.safetensors"


def _strict(text: str) -> Any:
    """``text`` parsed as a strict parser would: every string in it must be encodable as UTF-8 (Python's
    own parser gives lone surrogate escapes back as lone surrogates; serde_json refuses them)."""
    data = json.loads(text)

    def check(value: Any) -> None:
        if isinstance(value, str):
            value.encode("utf-8")  # raises on a lone surrogate
        elif isinstance(value, list):
            for item in value:
                check(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                check(key)
                check(item)

    check(data)
    return data


def test_json_output_of_non_utf8_names_is_strict_json_with_the_bytes_beside(tmp_path: Path) -> None:
    root = Path(os.fsdecode(os.fsencode(tmp_path) + b"/" + FOLDER))
    model = Path(os.fsdecode(os.fsencode(root) + b"/" + NAME))
    write_safetensors(model, LORA, seed=7)
    data = tmp_path / "data"
    run_main("scan", str(root), "--no-hash", "--no-lookup", data_dir=data, check=True)

    found = run_main("search", "--json", data_dir=data, check=True)
    (hit,) = _strict(found.stdout)
    assert hit["file_name"] == "caf\ufffd_latin1_\ufffd.safetensors"
    assert base64.b64decode(hit["file_name_b64"]) == NAME
    assert base64.b64decode(hit["path_b64"]) == os.fsencode(model)
    assert Path(os.fsdecode(base64.b64decode(hit["path_b64"]))).is_file()  # the exact bytes find the file

    shown = _strict(run_main("show", str(hit["id"]), "--json", data_dir=data, check=True).stdout)
    assert shown["path"] == hit["path"]
    assert shown["path"].endswith("/mod\ufffdles/caf\ufffd_latin1_\ufffd.safetensors")
    assert base64.b64decode(shown["path_b64"]) == os.fsencode(model)
    assert "file_size_b64" not in shown  # only texts that hold undecodable bytes get their bytes beside

    (inspected,) = _strict(run_main("inspect", str(model), "--json", data_dir=data, check=True).stdout)
    assert base64.b64decode(inspected["path_b64"]) == os.fsencode(model)

    (folder,) = _strict(run_main("roots", "--json", data_dir=data, check=True).stdout)
    assert base64.b64decode(folder["path_b64"]) == os.fsencode(root)


def test_every_command_s_json_output_follows_the_same_rule(tmp_path: Path) -> None:
    """``scan``, ``dupes`` and ``organize --dry-run`` build their own JSON documents: they go through the
    same rule as ``show`` (U+FFFD in the text, the exact bytes beside), not lone surrogate escapes."""
    root = Path(os.fsdecode(os.fsencode(tmp_path) + b"/" + FOLDER))
    model = Path(os.fsdecode(os.fsencode(root) + b"/" + NAME))
    write_safetensors(model, LORA, seed=7)
    twin = Path(os.fsdecode(os.fsencode(root) + b"/twin_\xe9.safetensors"))
    twin.write_bytes(model.read_bytes())
    data = tmp_path / "data"

    _strict(run_main("scan", str(root), "--no-lookup", "--json", data_dir=data, check=True).stdout)

    groups = _strict(run_main("dupes", "--json", data_dir=data, check=True).stdout)
    texts = json.dumps(groups, ensure_ascii=False)
    assert "caf\ufffd_latin1_\ufffd.safetensors" in texts
    assert base64.b64encode(os.fsencode(model)).decode("ascii") in texts

    plan = run_main("organize", "--template", "{kind}/{file_name}", "--dry-run", "--json", data_dir=data)
    _strict(plan.stdout)


def test_a_mapping_keyed_by_such_a_name_is_strict_json_too() -> None:
    """A key holding undecodable bytes (a document keyed by path) is written readable, as a list's texts."""
    from app.serialize import json_text

    odd = os.fsdecode(b"/models/caf\xe9.safetensors")
    text = json.dumps(json_text({odd: {"path": odd}}))
    document = _strict(text)
    assert list(document) == ["/models/caf\ufffd.safetensors"]
    assert base64.b64decode(document["/models/caf\ufffd.safetensors"]["path_b64"]) == os.fsencode(odd)
