"""``atelier dupes`` through the CLI's entry point (in this process) on real files: a copy, a hard link
and a symlink of one LoRA; listing (text and --json), the refusal without a terminal, hard-link resolution
(one inode afterwards, no group left), --keep by path, and trash resolution (the test's own trash) undone
with ``atelier undo``."""

from __future__ import annotations

import json
import os
import shutil
import sys
from contextlib import closing
from pathlib import Path

import pytest

from catalog.library import Library
from tests.app.in_process import run_in_process as run_main
from tests.app.organize.template_library import linked_lora

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX links")


def _setup(tmp_path: Path) -> tuple[dict[str, str | None], Path, Path, Path, Path]:
    library, other = tmp_path / "lib", tmp_path / "other"
    lora = linked_lora(library / "Lora")
    copy = other / "detail_tweaker-copy.safetensors"
    other.mkdir()
    shutil.copy2(lora, copy)
    hard = library / "Lora" / "detail_tweaker-hard.safetensors"
    os.link(lora, hard)
    (library / "detail_tweaker-link.safetensors").symlink_to(lora)
    env: dict[str, str | None] = {
        "ATELIER_DATA_DIR": str(tmp_path / "data"),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "ATELIER_CIVITAI_URL": "http://127.0.0.1:9",  # no lookups leave the machine
    }
    run_main("scan", str(library), str(other), "--no-lookup", env=env, check=True)
    return env, lora, copy, hard, library


def _dupes(env: dict[str, str | None], *args: str) -> dict[str, object]:
    result = run_main("dupes", "--json", *args, env=env, check=True)
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_listing_counts_the_copy_but_not_the_hard_link_or_the_symlink(tmp_path: Path) -> None:
    env, lora, copy, hard, _library = _setup(tmp_path)

    data = _dupes(env)

    [group] = data["groups"]  # type: ignore[misc]
    size = lora.stat().st_size
    assert (group["size"], group["freeable_bytes"], data["freeable_bytes"]) == (size, size, size)
    files = {f["path"]: f for f in group["files"]}
    assert set(files) == {str(lora), str(copy)}
    assert [link["path"] for link in files[str(lora)]["links"]] == [str(hard)]
    assert files[str(lora)]["keep"] is True
    assert files[str(lora)]["inode"] == lora.stat().st_ino

    text = run_main("dupes", env=env, check=True).stdout
    assert "Group 1: 2 identical files" in text
    assert "hard link of the line above" in text
    assert "detail_tweaker-link" not in text


def test_resolving_asks_first_and_refuses_without_a_terminal(tmp_path: Path) -> None:
    env, lora, copy, _hard, _library = _setup(tmp_path)

    result = run_main("dupes", "--resolve", "trash", env=env)

    assert result.returncode == 1
    assert "not resolving duplicates without confirmation: add --yes" in result.stderr
    assert "frees 1.2 MiB once the trash is emptied" in result.stderr
    assert "Traceback" not in result.stderr
    assert copy.exists()
    assert lora.exists()


def test_hardlink_resolution_leaves_one_inode_and_no_groups(tmp_path: Path) -> None:
    env, lora, copy, hard, _library = _setup(tmp_path)

    data = _dupes(env, "--resolve", "hardlink", "--yes")

    assert data["result"]["done"] == 1  # type: ignore[index]
    assert data["result"]["freed_bytes"] == lora.stat().st_size  # type: ignore[index]
    assert len({p.stat().st_ino for p in (lora, copy, hard)}) == 1
    assert _dupes(env)["groups"] == []
    run_main("scan", str(lora.parent.parent), str(copy.parent), "--no-lookup", env=env, check=True)
    assert _dupes(env)["groups"] == []


def test_keep_by_path_then_trash_and_undo(tmp_path: Path) -> None:
    env, lora, copy, hard, _library = _setup(tmp_path)

    data = _dupes(env, "--resolve", "trash", "--keep", str(copy), "--yes")

    plan = data["plan"]
    assert plan["groups"][0]["keep"]["path"] == str(copy)  # type: ignore[index]
    assert not lora.exists()
    assert not hard.exists()
    assert copy.exists()
    assert (tmp_path / "xdg" / "Trash" / "files" / lora.name).exists()
    assert _dupes(env)["groups"] == []

    undone = run_main("undo", env=env, check=True)

    assert "put back" in undone.stdout
    assert lora.exists()
    assert hard.exists()
    assert len(_dupes(env)["groups"]) == 1  # type: ignore[arg-type]


def test_keep_is_refused_for_a_file_without_duplicates_and_for_two_copies(tmp_path: Path) -> None:
    env, lora, copy, _hard, _library = _setup(tmp_path)
    other = linked_lora(tmp_path / "lib" / "single", name="lonely")
    run_main("scan", str(tmp_path / "lib"), "--no-lookup", env=env, check=True)

    lonely = run_main("dupes", "--resolve", "trash", "--keep", str(other), "--yes", env=env)
    both = run_main("dupes", "--resolve", "trash", "--keep", str(lora), str(copy), "--yes", env=env)

    assert lonely.returncode == 1
    assert "has no duplicate" in lonely.stderr
    assert both.returncode == 1
    assert "--keep names two copies of one file" in both.stderr
    assert "Traceback" not in lonely.stderr + both.stderr
    assert copy.exists()
    assert lora.exists()


def _open(tmp_path: Path) -> Library:
    return Library.open(tmp_path / "data" / "catalog.sqlite3")


def test_undo_of_a_symlink_resolution_brings_back_the_copys_entry_and_data(tmp_path: Path) -> None:
    env, lora, copy, _hard, _library = _setup(tmp_path)
    run_main("tag", str(copy), "--add", "mytag", env=env, check=True)
    run_main("rate", str(copy), "5", env=env, check=True)
    with closing(_open(tmp_path)) as library:
        copy_record = library.get_by_path(copy)
        assert copy_record is not None
        # The copy's own tags: mytag, and Civitai's, since an identical file's link is its link too.
        copy_id, copy_tags = copy_record.id, list(copy_record.tags)
        kept_id = library.get_by_path(lora).id  # type: ignore[union-attr]
    assert "mytag" in copy_tags

    data = _dupes(env, "--resolve", "symlink", "--keep", str(lora), "--yes")

    assert data["result"]["done"] == 1  # type: ignore[index]
    assert len(data["result"]["operations"]) == 1  # type: ignore[index]
    assert copy.is_symlink()
    with closing(_open(tmp_path)) as library:
        kept = library.get(kept_id)
        assert kept is not None
        assert ("mytag" in kept.tags, kept.rating) == (True, 5)

    run_main("undo", env=env, check=True)

    assert not copy.is_symlink()
    with closing(_open(tmp_path)) as library:
        back = library.get_by_path(copy)
        assert back is not None
        assert (back.id, list(back.tags), back.rating) == (copy_id, copy_tags, 5)
        kept = library.get(kept_id)
        assert kept is not None
        assert ("mytag" in kept.tags, kept.rating) == (False, 0)


def test_keep_resolves_only_the_group_it_names(tmp_path: Path) -> None:
    env, lora, copy, _hard, library_folder = _setup(tmp_path)
    other = linked_lora(library_folder / "other", name="second")
    other_copy = tmp_path / "other" / "second-copy.safetensors"
    shutil.copy2(other, other_copy)
    run_main("scan", str(library_folder), str(tmp_path / "other"), "--no-lookup", env=env, check=True)
    assert len(_dupes(env)["groups"]) == 2  # type: ignore[arg-type]

    data = _dupes(env, "--resolve", "trash", "--keep", str(lora), "--yes")

    assert [g["keep"]["path"] for g in data["plan"]["groups"]] == [str(lora)]  # type: ignore[index]
    assert not copy.exists()
    assert other_copy.exists()  # the other group is left as it was
    assert other.exists()
    [left] = _dupes(env)["groups"]  # type: ignore[misc]
    assert {f["path"] for f in left["files"]} == {str(other), str(other_copy)}


def test_a_copy_hard_linked_outside_the_library_frees_nothing_and_every_figure_says_so(
    tmp_path: Path,
) -> None:
    env, lora, copy, _hard, _library = _setup(tmp_path)
    mirror = tmp_path / "mirror"  # not a library folder: a UI's models folder Atelier mirrors into
    mirror.mkdir()
    os.link(copy, mirror / copy.name)
    size = lora.stat().st_size
    copies_then_freed = (
        "1.2 MiB in copies; 0 B freeable, because each copy is also hard-linked outside the library"
    )

    listing = _dupes(env)
    text = run_main("dupes", env=env, check=True).stdout
    plan = run_main("dupes", "--resolve", "trash", env=env)

    [group] = listing["groups"]  # type: ignore[misc]
    assert (group["copies_bytes"], group["freeable_bytes"]) == (size, 0)
    assert (listing["copies_bytes"], listing["freeable_bytes"]) == (size, 0)
    assert text.count(copies_then_freed) == 2  # the group's line and the total
    assert "1.2 MiB freeable" not in text
    assert (
        "1.2 MiB in copies; frees 0 B once the trash is emptied, because each copy is also hard-linked"
        in (plan.stdout + plan.stderr)
    )
