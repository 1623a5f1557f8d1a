"""What crosses a scan's process boundary (the finding sent to a worker, the worker's result) comes back
equal, field for field and type for type, now that it travels as class + field values in order."""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass, field, fields
from pathlib import Path

import pytest

from catalog.examine import FoundFile, examine, walk_root
from catalog.records import ScannedFile
from core.positional_pickle import pickled_by_position
from tests.factory.files import tiny_png
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": ("F16", ()),
}
EMBEDDING = {"emb_params": ("F32", (2, 768))}


def _library(folder: Path) -> None:
    """Real files of several kinds, with sidecars, metadata, a corrupt one and a FIFO."""
    folder.mkdir(parents=True)
    metadata = {
        "ss_output_name": "ink",
        "ss_base_model_version": "sd_v1",
        "ss_network_dim": "4",
        "ss_tag_frequency": json.dumps({"1_ink": {"ink": 3, "wash": 1}}),
    }
    lora = write_safetensors(folder / "ink.safetensors", LORA, metadata=metadata)
    (folder / "ink.json").write_text(json.dumps({"activation text": "inkwash", "notes": "n"}))
    (folder / "ink.preview.png").write_bytes(tiny_png())
    civitai = {"id": 11, "modelId": 7, "name": "v1", "baseModel": "SD 1.5", "trainedWords": ["ink"]}
    (folder / "ink.civitai.info").write_text(json.dumps(civitai))
    write_safetensors(folder / "plain.safetensors", LORA)
    write_safetensors(folder / "emb.safetensors", EMBEDDING)
    assert lora.exists()
    (folder / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    os.mkfifo(folder / "pipe.safetensors")


def _same(one: object, two: object) -> None:
    """Equal, and of the same type down through every dataclass field (an enum stays that enum)."""
    assert one == two
    assert type(one) is type(two)
    if hasattr(one, "__dataclass_fields__"):
        for declared in fields(one):  # type: ignore[arg-type]
            _same(getattr(one, declared.name), getattr(two, declared.name))


def test_findings_and_results_travel_unchanged(tmp_path: Path) -> None:
    _library(tmp_path / "lib")
    found = list(walk_root(tmp_path / "lib"))
    results = [examine(item) for item in found]
    assert any(r.identification and r.identification.metadata for r in results)
    assert any(r.sidecars and r.sidecars.civitai and r.sidecars.previews for r in results)
    assert any(item.unreadable for item in found)
    assert any(item.siblings for item in found)

    for sent in (found, results):
        for protocol in (2, pickle.HIGHEST_PROTOCOL):
            back = pickle.loads(pickle.dumps(sent, protocol))
            for one, two in zip(sent, back, strict=True):
                _same(one, two)
    assert all(type(item.path) is type(tmp_path) for item in pickle.loads(pickle.dumps(found)))


def test_a_finding_travels_with_its_path_as_text() -> None:
    item = FoundFile(Path("/models/a b/ü.safetensors"), 1, 2, 3, 4, siblings=frozenset({"ü.json"}))
    rebuild, arguments = item.__reduce__()
    assert arguments[0] == "/models/a b/ü.safetensors"
    assert rebuild(*arguments) == item


def test_every_field_travels_even_one_added_later() -> None:
    @pickled_by_position
    @dataclass(frozen=True, slots=True)
    class Later:
        a: int
        b: tuple[str, ...] = ()
        c: dict[str, int] = field(default_factory=dict)

    globals()["Later"] = Later  # pickle finds the class by its module-level name
    Later.__qualname__ = "Later"
    value = Later(1, ("x",), {"k": 2})
    assert pickle.loads(pickle.dumps(value)) == value
    assert ScannedFile.__reduce__ is not object.__reduce__


def test_a_dataclass_with_a_field_outside_init_is_refused() -> None:
    @dataclass(frozen=True)
    class Derived:
        a: int
        b: int = field(init=False, default=0)

    with pytest.raises(TypeError, match="__init__"):
        pickled_by_position(Derived)
