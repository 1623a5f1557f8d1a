"""The convert use case on a real catalog: the new file joins the library with the old one's user data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import safetensors.torch
import torch

from app.context import AppContext
from app.convert import convert_asset, convert_refusal
from catalog.records import UserDataChanges
from core.convert.errors import ConvertError
from core.taxonomy import AssetKind, FileFormat, FileStatus
from tests.factory.files import save_torch, tiny_png, write_a1111_embedding, write_malicious_torch
from tests.trash import own_trash


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    ctx = AppContext(tmp_path / "data")
    yield ctx
    ctx.close()


def _scan(context: AppContext, folder: Path) -> None:
    root = context.add_root(folder)
    context.scan([root.id])


def test_the_new_file_carries_the_user_data_and_previews(context: AppContext, tmp_path: Path) -> None:
    folder = tmp_path / "models" / "embeddings"
    source = write_a1111_embedding(folder / "my style.pt", vectors=2)
    preview = folder / "my style.preview.png"
    preview.write_bytes(tiny_png())
    _scan(context, tmp_path / "models")
    library = context.library
    old = library.get_by_path(source)
    assert old is not None
    assert old.kind is AssetKind.EMBEDDING
    library.update_user_data(
        old.id,
        UserDataChanges(
            display_name="My Style",
            notes="soft light",
            rating=4,
            favorite=True,
            tags=("style", "light"),
            collections=("Favourites",),
            trigger_words=("mystyle",),
            preferred_weight=0.7,
        ),
    )

    outcome = convert_asset(library, old.id)

    new = outcome.asset
    assert new.path == str(folder / "my style.safetensors")
    assert new.format is FileFormat.SAFETENSORS
    assert new.kind is AssetKind.EMBEDDING
    assert new.hashes is not None
    assert (new.display_name, new.notes, new.rating, new.favorite) == ("My Style", "soft light", 4, True)
    assert new.tags == ("style", "light")
    assert new.collections == ("Favourites",)
    assert new.trigger_words == ("mystyle",)
    assert new.preferred_weight == pytest.approx(0.7)
    assert [p.path for p in library.previews(new.id)] == [str(preview)]
    assert library.get(old.id) is not None  # the old file stays unless asked
    assert source.exists()
    assert list(safetensors.torch.load_file(new.path)) == ["emb_params"]


def test_an_unsafe_pickle_is_refused_with_its_reason(context: AppContext, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    source = write_malicious_torch(folder / "evil.ckpt", tmp_path / "pwned")
    _scan(context, folder)
    record = context.library.get_by_path(source)
    assert record is not None
    assert record.status is FileStatus.UNSAFE
    refusal = convert_refusal(record)
    assert refusal is not None
    assert "builtins.exec" in refusal
    with pytest.raises(ConvertError, match=r"evil\.ckpt was not converted: unsafe pickle"):
        convert_asset(context.library, record.id)
    assert not (folder / "evil.safetensors").exists()
    assert not (tmp_path / "pwned").exists()


def test_prune_is_for_checkpoints_only(context: AppContext, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    source = write_a1111_embedding(folder / "emb.pt")
    _scan(context, folder)
    record = context.library.get_by_path(source)
    assert record is not None
    with pytest.raises(ConvertError, match="--prune is for checkpoints"):
        convert_asset(context.library, record.id, prune=True)


def test_a_safetensors_file_is_not_offered(context: AppContext, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    save_torch(folder / "w.ckpt", {"state_dict": {"model.diffusion_model.w": torch.ones(2)}})
    _scan(context, folder)
    convert_asset(context.library, context.library.get_by_path(folder / "w.ckpt").id)  # type: ignore[union-attr]
    new = context.library.get_by_path(folder / "w.safetensors")
    assert new is not None
    assert (
        convert_refusal(new)
        == "only .ckpt, .pt, .pth and .bin files are converted; w.safetensors is not a torch pickle"
    )
    old = context.library.get_by_path(folder / "w.ckpt")
    assert old is not None
    assert convert_refusal(old) == "w.safetensors already exists beside it"


def test_trash_old_moves_only_the_model_file_and_keeps_the_shared_sidecars(
    context: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_trash(monkeypatch, tmp_path / "xdg")
    folder = tmp_path / "models"
    source = save_torch(folder / "w.ckpt", {"state_dict": {"model.diffusion_model.w": torch.ones(2)}})
    preview = folder / "w.preview.png"
    preview.write_bytes(tiny_png())
    _scan(context, folder)
    old = context.library.get_by_path(source)
    assert old is not None

    outcome = convert_asset(context.library, old.id, trash_old=True)

    assert outcome.trashed is not None
    assert outcome.trashed.done == 1
    assert not source.exists()
    assert (tmp_path / "xdg" / "Trash" / "files" / "w.ckpt").exists()
    assert preview.exists()
    assert context.library.get(old.id) is None
    assert [p.path for p in context.library.previews(outcome.asset.id)] == [str(preview)]
    assert "old file moved to the trash" in outcome.summary


def test_a_mirror_for_another_ui_gets_the_new_file(context: AppContext, tmp_path: Path) -> None:
    from app.organize.mirror import create_mirror, sync_mirrors
    from core.organize.mirror_plan import MirrorMode, MirrorUI

    folder = tmp_path / "models"
    source = write_a1111_embedding(folder / "soft.pt")
    _scan(context, folder)
    record = context.library.get_by_path(source)
    assert record is not None
    comfy = tmp_path / "ComfyUI"
    create_mirror(context.library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, comfy)
    sync_mirrors(context.library)
    assert (comfy / "models" / "embeddings" / "soft.pt").is_symlink()

    convert_asset(context.library, record.id)

    mirrored = comfy / "models" / "embeddings" / "soft.safetensors"
    assert mirrored.is_symlink()
    assert mirrored.resolve() == folder / "soft.safetensors"
