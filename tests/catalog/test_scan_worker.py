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

from catalog.examine import FoundFile, examine, found_listed, walk_listing, walk_root
from catalog.library import Library
from catalog.records import AssetQuery
from catalog.scan_worker import as_found, examine_chunk, path_text
from catalog.scan_writes import identification_json
from catalog.scanner import Scanner, examine_in_workers
from core.formats.model_file import ModelHeader, TensorInfo
from core.identify import identify
from core.identify.result import Identification
from core.taxonomy import (
    Architecture,
    AssetKind,
    FileFormat,
    LibraryLayout,
    NetworkType,
    Precision,
    Prediction,
    Variant,
)
from tests.catalog.worker_probe import examined, modules_seen
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


def test_a_plain_file_is_found_in_the_worker_as_the_walk_would_have_found_it(tmp_path: Path) -> None:
    """A new file without sidecars travels as text; the worker's ``FoundFile`` is ``found_listed``'s."""
    folder = tmp_path / "lib"
    folder.mkdir()
    write_safetensors(folder / "plain.safetensors", LORA)
    write_safetensors(folder / "ink.safetensors", LORA)
    (folder / "ink.json").write_text(json.dumps({"activation text": "inkwash"}))
    plain = 0
    for listed in walk_listing(folder):
        assert not isinstance(listed, FoundFile)
        path, _folder, _name, st, _names, has_sidecars = listed
        if has_sidecars:
            continue
        plain += 1
        queued = (path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
        found = as_found(queued)
        assert found == found_listed(listed)
        assert type(found.path) is type(found_listed(listed).path)
        assert path_text(queued) == path_text(found) == path
        assert examine_chunk([queued], examine) == examine_chunk([found], examine) == [examine(found)]
    assert plain == 1


def test_a_scan_in_workers_catalogs_plain_files_and_files_with_sidecars_alike(tmp_path: Path) -> None:
    """The same findings whether the files were read in worker processes or in the scan's own process."""
    folder = tmp_path / "lib"
    folder.mkdir()
    for index in range(6):
        write_safetensors(folder / f"lora{index}.safetensors", LORA, metadata={"ss_output_name": f"n{index}"})
    (folder / "lora1.json").write_text(json.dumps({"activation text": "inkwash", "notes": "n"}))
    (folder / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    seen: dict[int, dict[str, tuple[object, ...]]] = {}
    for workers in (1, 2):
        library = Library.open(tmp_path / f"catalog{workers}.sqlite3")
        root = library.add_root(folder, LibraryLayout.FLAT)
        scanner = Scanner(library, workers=workers, parallel_threshold=2, examine_file=examined)
        summary = scanner.scan([root.id])
        assert (summary.new, summary.corrupt) == (7, 1)
        assert any("broken.safetensors" in line for line in summary.problems)
        assets = library.search(AssetQuery())
        seen[workers] = {
            Path(asset.path).name: (asset.kind, asset.status, asset.status_reason, asset.trigger_words)
            for asset in assets
        }
        library.close()
    assert seen[1] == seen[2]
    assert seen[2]["lora1.safetensors"][3] == ("inkwash",)
