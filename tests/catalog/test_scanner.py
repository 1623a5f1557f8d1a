from __future__ import annotations

import json
import os
import pickle
import shutil
import struct
from pathlib import Path

import pytest

from catalog.examine import walk_root
from catalog.hashing_job import hash_pending
from catalog.library import Library
from catalog.records import AssetQuery, UserDataChanges
from catalog.scanner import Scanner, ScanSummary
from core.jobs import CancelToken, Progress
from core.taxonomy import Architecture, AssetKind, FileStatus, LibraryLayout
from tests.factory.files import tiny_png
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors

LORA_KEYS = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": ("F16", ()),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_v.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_v.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_v.alpha": ("F16", ()),
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": ("F16", (4, 768)),
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight": ("F16", (768, 4)),
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj.alpha": ("F16", ()),
}


class _Marker:
    """A pickle payload that would create a file if it were ever unpickled."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.target}",))


def write_lora(path: Path, seed: int = 0) -> Path:
    return write_safetensors(path, LORA_KEYS, metadata={"ss_output_name": path.stem}, seed=seed)


def write_embedding(path: Path) -> Path:
    return write_safetensors(path, {"emb_params": ("F32", (2, 768))}, seed=1)


@pytest.fixture
def library(lib: Library) -> Library:
    """The catalog under test: on SQLite and on the PostgreSQL server (``lib``, tests/catalog/conftest.py)."""
    return lib


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "webui"
    (folder / "models" / "Lora").mkdir(parents=True)
    (folder / "embeddings").mkdir()
    (folder / "models" / "Stable-diffusion").mkdir(parents=True)
    return folder


def scan(library: Library, root: Path) -> ScanSummary:
    record = library.add_root(root, LibraryLayout.A1111)
    return Scanner(library).scan([record.id])


def test_new_files_are_identified_and_bad_files_marked_while_the_scan_goes_on(
    library: Library, root: Path, tmp_path: Path
) -> None:
    write_lora(root / "models/Lora/style.safetensors")
    write_embedding(root / "embeddings/easyneg.safetensors")
    write_safetensors(root / "models/Stable-diffusion/sd15.safetensors", keyspace("sd1-ldm"))
    (root / "models/Lora/empty.safetensors").write_bytes(b"")
    (root / "models/Lora/lying.safetensors").write_bytes(struct.pack("<Q", 10**6) + b"{}")
    marker = tmp_path / "PWNED"
    (root / "models/Stable-diffusion/evil.ckpt").write_bytes(pickle.dumps(_Marker(marker)))

    summary = scan(library, root)

    assert (summary.new, summary.corrupt, summary.unsafe) == (6, 2, 1)
    assert not marker.exists(), "an untrusted pickle was executed"
    lora = library.get_by_path(root / "models/Lora/style.safetensors")
    assert lora is not None
    assert (lora.kind, lora.architecture, lora.status) == (AssetKind.LORA, Architecture.SD1, FileStatus.OK)
    assert lora.reasons, "every identification carries its reasons"
    checkpoint = library.get_by_path(root / "models/Stable-diffusion/sd15.safetensors")
    assert checkpoint is not None
    assert (checkpoint.kind, checkpoint.architecture) == (AssetKind.CHECKPOINT, Architecture.SD1)
    evil = library.get_by_path(root / "models/Stable-diffusion/evil.ckpt")
    assert evil is not None
    assert evil.status is FileStatus.UNSAFE
    assert "system" in (evil.status_reason or "")
    empty = library.get_by_path(root / "models/Lora/empty.safetensors")
    assert empty is not None
    assert empty.status is FileStatus.CORRUPT
    assert empty.status_reason


def test_a_rescan_reports_the_health_of_every_file_it_saw_not_only_the_reopened_ones(
    library: Library, root: Path, tmp_path: Path
) -> None:
    write_lora(root / "models/Lora/style.safetensors")
    (root / "models/Lora/empty.safetensors").write_bytes(b"")
    (root / "models/Lora/lying.safetensors").write_bytes(struct.pack("<Q", 10**6) + b"{}")
    (root / "models/Stable-diffusion/evil.ckpt").write_bytes(pickle.dumps(_Marker(tmp_path / "PWNED")))
    os.mkfifo(root / "models/Lora/pipe.safetensors")
    first = scan(library, root)
    assert (first.corrupt, first.unsafe, first.unreadable) == (2, 1, 1)
    # One damaged file moves: it is the same file (relocated, not reopened) and still counts as corrupt.
    (root / "models/Lora/lying.safetensors").rename(root / "models/Lora/renamed.safetensors")

    again = scan(library, root)

    assert (again.new, again.changed, again.unchanged, again.moved) == (0, 0, 4, 1)
    assert (again.corrupt, again.unsafe, again.unreadable) == (2, 1, 1)
    assert "(0 new, 0 changed, 4 unchanged, 1 moved; 2 corrupt, 1 unsafe, 1 unreadable)" in str(again)


def test_unchanged_files_are_not_reopened(library: Library, root: Path) -> None:
    path = write_lora(root / "models/Lora/style.safetensors")
    scan(library, root)
    before = path.stat()
    # Same size, same mtime, same inode, garbage content: only a scanner that reopens files would notice.
    with path.open("r+b") as fh:
        fh.write(b"\xff" * 16)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    summary = scan(library, root)

    assert (summary.unchanged, summary.changed, summary.new) == (1, 0, 0)
    record = library.get_by_path(path)
    assert record is not None
    assert record.status is FileStatus.OK


def test_changed_file_is_reidentified_and_keeps_user_data(library: Library, root: Path) -> None:
    path = write_lora(root / "models/Lora/thing.safetensors")
    scan(library, root)
    record = library.get_by_path(path)
    assert record is not None
    library.update_user_data(record.id, UserDataChanges(notes="keep me", rating=4))

    write_embedding(path)  # the file is replaced by something else entirely
    summary = scan(library, root)

    assert summary.changed == 1
    after = library.get(record.id)
    assert after is not None
    assert after.kind is AssetKind.EMBEDDING
    assert (after.notes, after.rating) == ("keep me", 4)


def test_renamed_file_keeps_its_row_and_user_data(library: Library, root: Path) -> None:
    path = write_lora(root / "models/Lora/old-name.safetensors")
    scan(library, root)
    record = library.get_by_path(path)
    assert record is not None
    library.update_user_data(record.id, UserDataChanges(favorite=True, tags=("anime",)))
    new_path = root / "models/Lora/sub/new-name.safetensors"
    new_path.parent.mkdir()
    path.rename(new_path)

    summary = scan(library, root)

    assert (summary.moved, summary.new, summary.missing) == (1, 0, 0)
    moved = library.get(record.id)
    assert moved is not None
    assert moved.path == str(new_path)
    assert moved.favorite
    assert moved.tags == ("anime",)


def test_missing_files_are_marked_and_come_back(library: Library, root: Path, tmp_path: Path) -> None:
    path = write_lora(root / "models/Lora/away.safetensors")
    scan(library, root)
    record = library.get_by_path(path)
    assert record is not None
    library.update_user_data(record.id, UserDataChanges(notes="precious"))
    parked = tmp_path / "parked.safetensors"
    shutil.move(path, parked)

    assert scan(library, root).missing == 1
    gone = library.get(record.id)
    assert gone is not None
    assert gone.status is FileStatus.MISSING
    assert gone.notes == "precious"
    assert library.count(AssetQuery()) == 0, "missing files are hidden from the default view"

    shutil.move(parked, path)
    scan(library, root)
    back = library.get(record.id)
    assert back is not None
    assert (back.status, back.notes) == (FileStatus.OK, "precious")


def test_copy_then_delete_is_recognised_as_a_move_by_hash(library: Library, root: Path) -> None:
    path = write_lora(root / "models/Lora/a.safetensors", seed=7)
    scan(library, root)
    hash_pending(library)
    record = library.get_by_path(path)
    assert record is not None
    library.update_user_data(record.id, UserDataChanges(rating=5))
    copy = root / "models/Lora/b.safetensors"
    shutil.copyfile(path, copy)  # new inode: the stat cannot tell it is the same file
    path.unlink()

    summary = scan(library, root)
    assert (summary.new, summary.missing) == (1, 1)
    hashed = hash_pending(library)

    assert hashed.moved == 1
    survivor = library.get_by_path(copy)
    assert survivor is not None
    assert survivor.rating == 5
    assert survivor.status is FileStatus.OK
    assert library.get_by_path(path) is None


def test_partial_downloads_and_other_files_are_ignored(root: Path) -> None:
    write_lora(root / "models/Lora/done.safetensors")
    write_lora(root / "models/Lora/coming.safetensors.part")
    (root / "models/Lora/done.txt").write_text("notes")
    (root / "models/Lora/done.preview.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    found = list(walk_root(root))
    assert [f.path.name for f in found] == ["done.safetensors"]
    assert found[0].has_sidecars


def test_sidecars_are_imported(library: Library, root: Path) -> None:
    path = write_lora(root / "models/Lora/pixel.safetensors")
    (root / "models/Lora/pixel.json").write_text(
        json.dumps(
            {"description": "Pixel art style", "activation text": "pixel art, 8bit", "preferred weight": 0.7}
        )
    )
    preview = root / "models/Lora/pixel.preview.png"
    preview.write_bytes(tiny_png())

    scan(library, root)

    record = library.get_by_path(path)
    assert record is not None
    assert record.description == "Pixel art style"
    assert record.preferred_weight == pytest.approx(0.7)
    assert "pixel art" in record.trigger_words
    assert record.cover_path == str(preview)
    assert [r.id for r in library.search(AssetQuery(text="8bit"))] == [record.id]


def test_diffusers_folder_is_one_asset(library: Library, root: Path) -> None:
    folder = root / "models/Stable-diffusion/my-pipeline"
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(
        json.dumps({"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]})
    )
    (folder / "unet/config.json").write_text(
        json.dumps({"_class_name": "UNet2DConditionModel", "cross_attention_dim": 768, "in_channels": 4})
    )
    write_safetensors(
        folder / "unet/diffusion_pytorch_model.safetensors", {"conv_in.weight": ("F16", (320, 4, 3, 3))}
    )

    scan(library, root)

    records = library.search(AssetQuery())
    assert [r.path for r in records] == [str(folder)]
    assert records[0].kind is AssetKind.CHECKPOINT
    assert records[0].architecture is Architecture.SD1


def test_cancelled_scan_keeps_what_it_wrote_and_the_next_scan_finishes(library: Library, root: Path) -> None:
    for i in range(30):
        write_embedding(root / f"embeddings/e{i:02}.safetensors")
    record = library.add_root(root, LibraryLayout.A1111)
    token = CancelToken()

    def cancel_midway(progress: Progress) -> None:
        if progress.total and progress.done >= 10:
            token.cancel()

    first = Scanner(library, progress=cancel_midway, cancel=token, batch_size=5).scan([record.id])
    assert first.cancelled
    written = library.count(AssetQuery())
    assert 0 < written < 30

    second = Scanner(library).scan([record.id])
    assert library.count(AssetQuery()) == 30
    assert second.new == 30 - written


def test_unplugged_root_does_not_mark_everything_missing(
    library: Library, root: Path, tmp_path: Path
) -> None:
    write_lora(root / "models/Lora/a.safetensors")
    scan(library, root)
    root.rename(tmp_path / "elsewhere")

    summary = Scanner(library).scan()

    assert summary.missing == 0
    assert summary.problems
    assert "not found" in summary.problems[0]
    assert library.count(AssetQuery()) == 1


def test_sidecars_added_later_are_imported_without_losing_hashes(library: Library, root: Path) -> None:
    path = write_lora(root / "models/Lora/late.safetensors")
    scan(library, root)
    hash_pending(library)
    record = library.get_by_path(path)
    assert record is not None
    assert record.hashes is not None

    (root / "models/Lora/late.json").write_text(json.dumps({"activation text": "late trigger"}))
    preview = root / "models/Lora/late.preview.png"
    preview.write_bytes(tiny_png())
    summary = scan(library, root)

    assert (summary.changed, summary.unchanged) == (1, 0)
    after = library.get(record.id)
    assert after is not None
    assert "late trigger" in after.trigger_words
    assert after.cover_path == str(preview)
    assert after.hashes == record.hashes, "the model itself did not change: its hashes stay"
    assert scan(library, root).unchanged == 1, "sidecars already read are not read again"
