"""What a scan's worker processes start with, and the scan's row values built without detours.

The fork server preloads the readers and matchers (``catalog.scan_worker.PRELOAD``), so a worker imports
nothing once forked and never the scanner itself. ``identification_json`` builds the stored
identification directly; it must stay exactly ``Identification.to_json()`` without ``metadata``, key
order included (the catalog stores the JSON text).
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from catalog.examine import examine, walk_root
from catalog.scan_writes import identification_json
from catalog.scanner import examine_in_workers
from core.formats.model_file import ModelHeader, TensorInfo
from core.identify import identify
from core.identify.result import Identification
from core.taxonomy import Architecture, AssetKind, FileFormat, NetworkType, Precision, Prediction, Variant
from tests.catalog.worker_probe import modules_seen
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": ("F16", ()),
}


@pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="workers are spawned here"
)
def test_workers_are_forked_with_the_readers_loaded_and_without_the_scanner(tmp_path: Path) -> None:
    for index in range(3):
        write_safetensors(tmp_path / f"lora{index}.safetensors", LORA, metadata={"ss_network_dim": "4"})
    found = list(walk_root(tmp_path))

    results = list(examine_in_workers(found, 2, modules_seen))

    assert len(results) == 3
    for scanned in results:
        assert json.loads(scanned.status_reason or "") == {
            "catalog.scanner": False,
            "core.identify.engine": True,
        }
        assert scanned.identification is not None
        assert scanned.identification.kind is AssetKind.LORA


def _without_metadata(ident: Identification) -> dict[str, object]:
    data = ident.to_json()
    data.pop("metadata")
    return data


def test_stored_identification_is_to_json_without_metadata_in_the_same_order(tmp_path: Path) -> None:
    metadata = {"ss_network_dim": "4", "modelspec.trigger_phrase": "ink, wash", "ss_output_name": "ink"}
    path = write_safetensors(tmp_path / "ink.safetensors", LORA, metadata=metadata)
    read = examine(next(iter(walk_root(tmp_path)))).identification
    assert read is not None
    assert path.exists()
    header = ModelHeader(
        path=tmp_path / "x.safetensors",
        format=FileFormat.SAFETENSORS,
        size=0,
        tensors={"emb_params": TensorInfo("F32", (2, 768), (0, 6144))},
    )
    every_field = Identification(
        kind=AssetKind.CHECKPOINT,
        architecture=Architecture.SDXL,
        format=FileFormat.CKPT,
        network=NetworkType.LORA,
        variant=Variant.INPAINT,
        prediction=Prediction.V,
        precision=Precision.FP16,
        reasons=("a", "b"),
        refusals=("c",),
        trigger_words=("w",),
        metadata={"title": "t"},
    )
    for ident in (read, identify(header), every_field):
        stored = identification_json(ident)
        assert stored == _without_metadata(ident)
        assert list(stored or ()) == list(_without_metadata(ident))  # key order: the stored JSON text
        assert json.dumps(stored) == json.dumps(_without_metadata(ident))
    assert identification_json(None) is None
