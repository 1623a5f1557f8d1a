"""``--out``'s copies on real files: a folder gives a free name, a file that appears meanwhile is kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from app.render_out import check_out, copy_out
from catalog.library import Library


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "data" / "catalog.sqlite3") as opened:
        yield opened


@pytest.fixture
def image(library: Library) -> Path:
    """A render in the library's renders folder."""
    path = library.renders_dir / "20260101-000000-render-7.png"
    path.parent.mkdir(parents=True)
    Image.new("RGB", (4, 4), "green").save(path)
    return path


def test_a_folder_gives_the_library_name_or_a_free_one(library: Library, image: Path, tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    (folder / image.name).write_bytes(b"someone else's image")

    (first,) = copy_out(folder, [image], library, overwrite=False)
    (second,) = copy_out(folder, [image], library, overwrite=True)

    assert (first.name, second.name) == (f"{image.stem} (1).png", f"{image.stem} (2).png")
    assert first.read_bytes() == second.read_bytes() == image.read_bytes()
    assert (folder / image.name).read_bytes() == b"someone else's image"


def test_the_renders_folder_itself_already_holds_the_image(library: Library, image: Path) -> None:
    assert copy_out(library.renders_dir, [image], library, overwrite=False) == [image]
    assert sorted(p.name for p in library.renders_dir.iterdir()) == [image.name]


def test_a_file_made_after_the_check_is_not_written_over(
    library: Library, image: Path, tmp_path: Path
) -> None:
    """Another program writes ``--out``'s file while the render runs: the copy takes a free name."""
    target = tmp_path / "fox.png"
    check_out(target, 1, library, overwrite=False)
    target.write_bytes(b"written meanwhile")

    (written,) = copy_out(target, [image], library, overwrite=False)

    assert written == tmp_path / "fox (1).png"
    assert written.read_bytes() == image.read_bytes()
    assert target.read_bytes() == b"written meanwhile"


def test_a_file_that_turned_into_a_model_meanwhile_is_not_replaced_even_with_overwrite(
    library: Library, image: Path, tmp_path: Path
) -> None:
    target = tmp_path / "fox.png"
    check_out(target, 1, library, overwrite=True)
    target.write_bytes(b"not a png")

    (written,) = copy_out(target, [image], library, overwrite=True)

    assert written == tmp_path / "fox (1).png"
    assert target.read_bytes() == b"not a png"
