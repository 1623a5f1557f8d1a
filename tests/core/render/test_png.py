"""Renders are saved with A1111 infotext that reads back into the same recipe."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from core.render.infotext import format_infotext, recipe_from_infotext
from core.render.png import read_infotext, save_png
from core.render.recipe import AssetRef, LoraUse, Recipe, Sampler


def _recipe() -> Recipe:
    return Recipe(
        checkpoint=AssetRef("dreamshaper_8", hash="879db523c3"),
        loras=(LoraUse(AssetRef("add_detail", hash="7c6bd7b7a2"), weight=0.6),),
        prompt="a cozy cabin in the woods, (golden hour:1.2), 日本語",
        negative_prompt="blurry, lowres",
        seed=1234567890,
        steps=25,
        cfg=6.5,
        width=512,
        height=768,
        clip_skip=2,
        sampler=Sampler.DPMPP_2M.value,
        schedule="Karras",
    )


def test_round_trip_through_png(tmp_path: Path) -> None:
    recipe = _recipe()
    infotext = format_infotext(recipe)
    path = save_png(Image.new("RGB", (8, 8), "red"), tmp_path / "out" / "render.png", infotext)
    assert path == tmp_path / "out" / "render.png"
    text = read_infotext(path)
    assert text == infotext
    back = recipe_from_infotext(text).recipe
    assert back.replace(prompt=back.prompt.rstrip()) == recipe  # tags are joined by a space
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.getpixel((0, 0)) == (255, 0, 0)
    assert [p.name for p in path.parent.iterdir()] == ["render.png"]  # no temp file left


def test_save_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "render.png"
    save_png(Image.new("RGB", (4, 4)), path, "first")
    save_png(Image.new("RGB", (4, 4)), path, "second")
    assert read_infotext(path) == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["render.png"]


def test_failed_save_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "render.png"
    save_png(Image.new("RGB", (4, 4)), path, "kept")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_png(Image.new("RGB", (4, 4)), path, "lost")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["render.png"]
    assert read_infotext(path) == "kept"  # the earlier file is untouched


def test_png_without_parameters(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(path)
    assert read_infotext(path) is None


def _exif_user_comment(raw: bytes) -> Image.Exif:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = raw
    return exif


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_exif_user_comment_as_a1111_writes_it(fmt: str, tmp_path: Path) -> None:
    """A1111 stores infotext in JPEG/WebP as EXIF UserComment: b'UNICODE\\0' + UTF-16-BE (piexif)."""
    text = "a cat, 猫\nSteps: 20, Sampler: Euler a, Seed: 1"
    raw = b"UNICODE\x00" + text.encode("utf-16-be")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format=fmt, exif=_exif_user_comment(raw))
    path = tmp_path / f"render.{fmt.lower()}"
    path.write_bytes(buffer.getvalue())
    assert read_infotext(path) == text


def test_not_an_image_raises(tmp_path: Path) -> None:
    path = tmp_path / "note.png"
    path.write_text("not an image", encoding="utf-8")
    with pytest.raises(OSError):
        read_infotext(path)
