"""Mirrors on real files: each mode, a disk that refuses links, the user's files never touched, a folder
that is a link into the library, and syncs after the library changed."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.organize.mirror import MirrorApplier, MirrorError, create_mirror, find_mirror, sync_mirrors
from catalog.library import Library
from catalog.scanner import Scanner
from core.organize.mirror_plan import MirrorMode, MirrorUI
from core.taxonomy import AssetKind
from tests.app.organize.mirror_library import a1111_install, open_library, write_lora


@pytest.fixture
def webui(tmp_path: Path) -> Path:
    return a1111_install(tmp_path / "webui")


@pytest.fixture
def library(tmp_path: Path, webui: Path) -> Iterator[Library]:
    with open_library(tmp_path / "data" / "catalog.sqlite3", webui) as opened:
        yield opened


def entries_of(folder: Path) -> dict[str, Path]:
    """Every file and link under ``folder`` by its path relative to it."""
    found: dict[str, Path] = {}
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(dirpath) / name
            found[path.relative_to(folder).as_posix()] = path
    return found


COMFY_ENTRIES = {
    "models/loras/pixel.safetensors",
    "models/loras/pixel.preview.png",
    "models/loras/pixel.json",
    "models/loras/styles/ink.safetensors",
    "models/embeddings/bad_hands.safetensors",
}


def test_symlink_mirror_in_comfyui_layout_with_sidecars(
    tmp_path: Path, webui: Path, library: Library
) -> None:
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "ComfyUI")
    report = MirrorApplier(library).sync(mirror)
    made = entries_of(tmp_path / "ComfyUI")
    assert set(made) == COMFY_ENTRIES
    assert all(path.is_symlink() for path in made.values())
    assert (
        made["models/loras/styles/ink.safetensors"].resolve() == webui / "models/Lora/styles/ink.safetensors"
    )
    assert (report.added, report.fallback, report.not_ours) == (5, "", [])
    again = MirrorApplier(library).sync(library.mirror(mirror.id))
    assert (again.changed, again.kept) == (0, 5)


def test_hardlink_mirror_in_a1111_layout_shares_the_inode(
    tmp_path: Path, webui: Path, library: Library
) -> None:
    mirror = create_mirror(
        library, MirrorUI.A1111, MirrorMode.HARDLINK, tmp_path / "forge", kinds=[AssetKind.LORA]
    )
    MirrorApplier(library).sync(mirror)
    made = entries_of(tmp_path / "forge")
    assert set(made) == {
        "models/Lora/pixel.safetensors",
        "models/Lora/pixel.preview.png",
        "models/Lora/pixel.json",
        "models/Lora/styles/ink.safetensors",
    }
    link = made["models/Lora/pixel.safetensors"]
    assert not link.is_symlink()
    assert link.stat().st_ino == (webui / "models/Lora/pixel.safetensors").stat().st_ino


def test_copy_mirror_is_verified_and_follows_a_changed_source(
    tmp_path: Path, webui: Path, library: Library
) -> None:
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.COPY, tmp_path / "ComfyUI")
    MirrorApplier(library).sync(mirror)
    copy = tmp_path / "ComfyUI/models/loras/pixel.safetensors"
    source = webui / "models/Lora/pixel.safetensors"
    assert copy.read_bytes() == source.read_bytes()
    assert copy.stat().st_ino != source.stat().st_ino
    assert not list((tmp_path / "ComfyUI/models/loras").glob(".*atelier-part"))

    write_lora(source, "pixel-v2")  # the user replaced the LoRA with a new version
    Scanner(library).scan()
    report = MirrorApplier(library).sync(library.mirror(mirror.id))
    assert report.updated == 1
    assert copy.read_bytes() == source.read_bytes()


def refuse(_source: Path, entry: Path) -> None:
    """What exFAT, FAT32 and most network shares answer to a link."""
    raise OSError(errno.EPERM, "Operation not permitted", str(entry))


def test_a_disk_that_refuses_links_gets_copies_and_the_report_says_so(
    tmp_path: Path, library: Library
) -> None:
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "usb")
    applier = MirrorApplier(library, symlink=refuse, hardlink=refuse)
    report = applier.sync(mirror)
    made = entries_of(tmp_path / "usb")
    assert set(made) == COMFY_ENTRIES
    assert not any(path.is_symlink() for path in made.values())
    assert report.added == 5
    assert report.used_mode == "copy"
    assert "symlinks not supported on" in report.fallback
    assert report.fallback.endswith("used copies")
    assert "symlinks not supported" in str(report)
    # the next sync keeps the copies instead of trying links (and copying) all over again
    again = applier.sync(library.mirror(mirror.id))
    assert (again.changed, again.kept) == (0, 5)
    assert again.fallback == report.fallback


def _vfat_mount(tmp_path: Path) -> Path | None:
    """A real FAT file system on a loop device, where this machine allows it (root, mkfs.vfat)."""
    mkfs = shutil.which("mkfs.vfat")
    if mkfs is None or os.geteuid() != 0:
        return None
    image, mount = tmp_path / "fat.img", tmp_path / "fat"
    mount.mkdir()
    with image.open("wb") as handle:
        handle.truncate(16 * 1024 * 1024)
    made = subprocess.run([mkfs, str(image)], capture_output=True, check=False)
    mounted = subprocess.run(
        ["mount", "-o", "loop", str(image), str(mount)], capture_output=True, check=False
    )
    return mount if made.returncode == 0 and mounted.returncode == 0 else None


def test_a_real_vfat_disk_gets_copies(tmp_path: Path, library: Library) -> None:
    mount = _vfat_mount(tmp_path)
    if mount is None:
        pytest.skip("no loop-mounted vfat here (needs root and mkfs.vfat); the stand-in test covers it")
    try:
        mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, mount / "ComfyUI")
        report = MirrorApplier(library).sync(mirror)
        assert report.added == 5
        assert report.used_mode == "copy"
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_users_file_in_the_mirror_is_never_touched(tmp_path: Path, library: Library) -> None:
    loras = tmp_path / "ComfyUI/models/loras"
    loras.mkdir(parents=True)
    theirs = loras / "pixel.safetensors"
    theirs.write_bytes(b"the user's own pixel LoRA")
    other = loras / "mine.safetensors"
    other.write_bytes(b"another file of theirs")
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "ComfyUI")
    report = MirrorApplier(library).sync(mirror)
    assert theirs.read_bytes() == b"the user's own pixel LoRA"
    assert not theirs.is_symlink()
    assert any(line.startswith(str(theirs)) for line in report.not_ours)
    # nor do our pixel's preview and notes go beside their file, which they would mislabel
    assert not (loras / "pixel.preview.png").exists()
    assert not (loras / "pixel.json").exists()
    # removing the mirror removes what Atelier made and nothing else
    removed = MirrorApplier(library).remove(library.mirror(mirror.id))
    assert theirs.read_bytes() == b"the user's own pixel LoRA"
    assert other.read_bytes() == b"another file of theirs"
    assert set(entries_of(tmp_path / "ComfyUI")) == {
        "models/loras/pixel.safetensors",
        "models/loras/mine.safetensors",
    }
    assert removed.removed == 2
    assert library.mirrors() == []


def test_an_entry_the_user_replaced_is_left_alone_by_later_syncs(tmp_path: Path, library: Library) -> None:
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "ComfyUI")
    MirrorApplier(library).sync(mirror)
    entry = tmp_path / "ComfyUI/models/loras/pixel.safetensors"
    entry.unlink()
    entry.write_bytes(b"replaced by the user")
    report = MirrorApplier(library).sync(library.mirror(mirror.id))
    assert entry.read_bytes() == b"replaced by the user"
    assert report.changed_kept == [str(entry)]
    assert f"kept {entry} as yours: changed since Atelier made it" in str(report)
    for _ in range(2):  # still the user's where the layout wants it: said so, not "a file not made"
        again = MirrorApplier(library).sync(library.mirror(mirror.id))
        assert (again.not_ours, again.changed_kept) == ([], [str(entry)])
        assert f"kept {entry} as yours: changed since Atelier made it" in str(again)
    MirrorApplier(library).remove(library.mirror(mirror.id))
    assert entry.read_bytes() == b"replaced by the user"


@pytest.mark.parametrize(("name", "made_again"), [("pixel.safetensors", 3), ("styles/ink.safetensors", 1)])
def test_a_copy_the_user_edited_in_place_stays_theirs_at_every_sync(
    tmp_path: Path, webui: Path, library: Library, name: str, made_again: int
) -> None:
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.COPY, tmp_path / "ComfyUI")
    MirrorApplier(library).sync(mirror)
    entry = tmp_path / "ComfyUI/models/loras" / name
    with entry.open("ab") as handle:  # the same file, edited: the layout still wants this path
        handle.write(b"the user's edit")
    edited = entry.read_bytes()
    for _ in range(3):
        report = MirrorApplier(library).sync(library.mirror(mirror.id))
        assert (report.not_ours, report.changed_kept) == ([], [str(entry)])
        assert f"kept {entry} as yours: changed since Atelier made it" in str(report)
        assert entry.read_bytes() == edited
    # Deleted by the user: the library's copy comes back (with pixel's preview and notes), though no
    # catalog row changed since the last sync (ink has no sidecar: nothing else tells that sync to look).
    entry.unlink()
    report = MirrorApplier(library).sync(library.mirror(mirror.id))
    assert (report.added, report.not_ours, report.changed_kept) == (made_again, [], [])
    assert entry.read_bytes() == (webui / "models/Lora" / name).read_bytes()


def test_a_real_folder_where_entries_go_is_used_never_replaced(tmp_path: Path, library: Library) -> None:
    styles = tmp_path / "ComfyUI/models/loras/styles"
    styles.mkdir(parents=True)
    (styles / "watercolor.safetensors").write_bytes(b"theirs")
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "ComfyUI")
    MirrorApplier(library).sync(mirror)
    assert not styles.is_symlink()
    assert (styles / "watercolor.safetensors").read_bytes() == b"theirs"
    assert (styles / "ink.safetensors").is_symlink()


def test_a_mirror_folder_in_or_around_the_library_or_linked_into_it_is_refused(
    tmp_path: Path, webui: Path, library: Library
) -> None:
    link = tmp_path / "linked"
    link.symlink_to(webui)
    inside = webui / "mirror"
    for target in (link, inside, tmp_path, webui):
        with pytest.raises(MirrorError):
            create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, target)
    assert library.mirrors() == []


def test_a_kind_folder_that_links_into_the_library_is_not_doubled(
    tmp_path: Path, webui: Path, library: Library
) -> None:
    models = tmp_path / "ComfyUI/models"
    models.mkdir(parents=True)
    (models / "loras").symlink_to(webui / "models/Lora")  # the Stability Matrix way of sharing
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.HARDLINK, tmp_path / "ComfyUI")
    before = sorted(p.name for p in (webui / "models/Lora").iterdir())
    report = MirrorApplier(library).sync(mirror)
    assert sorted(p.name for p in (webui / "models/Lora").iterdir()) == before
    assert report.added == 1  # the embedding only
    assert any("is a link into the library folder" in line for line in report.skipped)
    # removing the mirror deletes nothing through that link, though the LoRAs there share the inode
    MirrorApplier(library).remove(library.mirror(mirror.id))
    assert sorted(p.name for p in (webui / "models/Lora").iterdir()) == before


def test_a_folder_linked_into_the_library_after_a_sync_deletes_nothing(
    tmp_path: Path, webui: Path, library: Library
) -> None:
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.HARDLINK, tmp_path / "ComfyUI")
    MirrorApplier(library).sync(mirror)
    loras = tmp_path / "ComfyUI/models/loras"
    shutil.rmtree(loras)
    loras.symlink_to(webui / "models/Lora")  # now the recorded hard links "are" the library's files
    (webui / "models/Lora/pixel.safetensors").rename(webui / "models/Lora/pixel-renamed.safetensors")
    Scanner(library).scan()
    MirrorApplier(library).sync(library.mirror(mirror.id))
    MirrorApplier(library).remove(library.mirror(mirror.id))
    names = {p.name for p in (webui / "models/Lora").iterdir()}
    assert {"pixel-renamed.safetensors", "pixel.preview.png", "pixel.json", "styles"} <= names


def test_a_rename_and_a_delete_in_the_library_update_only_our_entries(
    tmp_path: Path, webui: Path, library: Library
) -> None:
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "ComfyUI")
    MirrorApplier(library).sync(mirror)
    loras = tmp_path / "ComfyUI/models/loras"
    (loras / "notes.txt").write_text("the user's notes", encoding="utf-8")
    (webui / "models/Lora/styles/ink.safetensors").rename(webui / "models/Lora/styles/ink_v2.safetensors")
    (webui / "embeddings/bad_hands.safetensors").unlink()
    Scanner(library).scan()
    summary = sync_mirrors(library)
    (report,) = summary.reports
    assert (report.added, report.removed) == (1, 2)
    made = set(entries_of(tmp_path / "ComfyUI"))
    assert "models/loras/styles/ink_v2.safetensors" in made
    assert "models/loras/styles/ink.safetensors" not in made
    assert "models/embeddings/bad_hands.safetensors" not in made
    assert (loras / "notes.txt").read_text(encoding="utf-8") == "the user's notes"


def test_name_clashes_between_two_library_folders_are_renamed_and_reported(
    tmp_path: Path, webui: Path
) -> None:
    other = tmp_path / "other"
    write_lora(other / "models/Lora/pixel.safetensors", "another pixel")
    (other / "models/Stable-diffusion").mkdir(parents=True)
    with open_library(tmp_path / "data2" / "catalog.sqlite3", webui, other) as library:
        mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "ComfyUI")
        report = MirrorApplier(library).sync(mirror)
        loras = tmp_path / "ComfyUI/models/loras"
        files = [webui / "models/Lora/pixel.safetensors", other / "models/Lora/pixel.safetensors"]
        first, second = sorted(files, key=lambda path: library.get_by_path(path).id)  # type: ignore[union-attr]
        second_id = library.get_by_path(second).id  # type: ignore[union-attr]
        assert (loras / "pixel.safetensors").resolve() == first  # the older asset keeps the name
        assert (loras / f"pixel-{second_id}.safetensors").resolve() == second
        assert len(report.clashes) == 1
        assert "2 files are named pixel.safetensors" in report.clashes[0]


def test_an_unplugged_mirror_is_reported_and_its_records_kept(tmp_path: Path, library: Library) -> None:
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "usb/ComfyUI")
    MirrorApplier(library).sync(mirror)
    shutil.rmtree(tmp_path / "usb")
    report = MirrorApplier(library).sync(library.mirror(mirror.id))
    assert report.state == "unreachable"
    summary = sync_mirrors(library)
    assert summary.failed == 1  # said after a scan, though nothing changed
    assert "is not there (unplugged?)" in str(summary)
    assert not (tmp_path / "usb").exists()  # not made again on the system disk
    assert library.mirror(mirror.id).entry_count == 5


def test_find_mirror_by_id_or_folder(tmp_path: Path, library: Library) -> None:
    mirror = create_mirror(library, MirrorUI.INVOKEAI, MirrorMode.SYMLINK, tmp_path / "invoke")
    assert find_mirror(library, str(mirror.id)).target == tmp_path / "invoke"
    assert find_mirror(library, tmp_path / "invoke").id == mirror.id
    with pytest.raises(MirrorError):
        find_mirror(library, tmp_path / "nowhere")


def test_invokeai_mirror_sorts_by_base_model(tmp_path: Path, library: Library) -> None:
    mirror = create_mirror(library, MirrorUI.INVOKEAI, MirrorMode.SYMLINK, tmp_path / "invoke")
    MirrorApplier(library).sync(mirror)
    made = set(entries_of(tmp_path / "invoke"))
    assert "models/sd-1/lora/pixel.safetensors" in made
    assert "models/sd-1/embedding/bad_hands.safetensors" in made


def test_a_rename_through_the_organize_engine_is_followed_by_the_mirror(
    tmp_path: Path, webui: Path, library: Library
) -> None:
    from app.organize.engine import apply_moves, plan_in_library

    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "ComfyUI")
    MirrorApplier(library).sync(mirror)
    source = webui / "models/Lora/pixel.safetensors"
    asset = library.get_by_path(source)
    assert asset is not None
    target = source.with_name("pixel_art.safetensors")
    apply_moves(library, plan_in_library(library, [(asset.id, source, target)]))
    made = set(entries_of(tmp_path / "ComfyUI"))
    # the model and its sidecars were renamed together, and the mirror followed at once
    assert {"models/loras/pixel_art.safetensors", "models/loras/pixel_art.preview.png"} <= made
    assert "models/loras/pixel.safetensors" not in made
    assert (tmp_path / "ComfyUI/models/loras/pixel_art.safetensors").resolve() == target


@pytest.fixture
def other_drive(tmp_path: Path) -> Iterator[Path]:
    """A folder on another file system than the library (tmpfs), where this machine has one."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev or not os.access(shm, os.W_OK):
        pytest.skip("no second file system to mirror onto")
    folder = shm / f"atelier-mirror-{os.getpid()}-{tmp_path.name}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_hard_links_onto_another_drive_become_copies_and_say_why(
    other_drive: Path, webui: Path, library: Library
) -> None:
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.HARDLINK, other_drive / "ComfyUI")
    report = MirrorApplier(library).sync(mirror)
    copy = other_drive / "ComfyUI/models/loras/pixel.safetensors"
    assert copy.read_bytes() == (webui / "models/Lora/pixel.safetensors").read_bytes()
    assert report.used_mode == "copy"
    assert "hard links cannot reach" in report.fallback
    assert report.fallback.endswith("used copies")


def test_link_loops_are_refused_or_left_alone(tmp_path: Path, library: Library) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop")
    with pytest.raises(MirrorError, match="loops"):
        create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, loop)
    models = tmp_path / "ComfyUI/models"
    models.mkdir(parents=True)
    (models / "loras").symlink_to(models / "loras")  # a folder link that points at itself
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "ComfyUI")
    report = MirrorApplier(library).sync(mirror)
    assert report.added == 1  # the embedding; the LoRAs' folder is a loop, left alone
    assert any("loops" in line for line in report.skipped)
    assert (models / "loras").is_symlink()


def test_a_mirror_inside_or_around_another_is_refused(tmp_path: Path, library: Library) -> None:
    create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "apps/ComfyUI")
    (tmp_path / "link-to-comfy").symlink_to(tmp_path / "apps/ComfyUI")
    for target in (tmp_path / "apps/ComfyUI/models", tmp_path / "link-to-comfy", tmp_path / "apps"):
        with pytest.raises(MirrorError, match="overlaps the mirror"):
            create_mirror(library, MirrorUI.A1111, MirrorMode.SYMLINK, target)
    # the same folder again changes that mirror
    changed = create_mirror(library, MirrorUI.A1111, MirrorMode.COPY, tmp_path / "apps/ComfyUI")
    assert [(m.ui, m.mode) for m in library.mirrors()] == [(MirrorUI.A1111, MirrorMode.COPY)]
    assert changed.target == tmp_path / "apps/ComfyUI"


# -- following files Atelier or another tool rewrote by an atomic replace (a new inode) --------------------


def replace_atomically(path: Path, data: bytes) -> None:
    """What sidecar writers and download tools do: a temporary sibling renamed over the file."""
    part = path.with_name(f".{path.name}.tmp")
    part.write_bytes(data)
    part.replace(path)


def test_sidecars_written_by_atelier_reach_a_hardlink_mirror_at_once(
    tmp_path: Path, webui: Path, library: Library
) -> None:
    from app.sidecar_writer import write_many
    from catalog.records import UserDataChanges

    mirror = create_mirror(library, MirrorUI.A1111, MirrorMode.HARDLINK, tmp_path / "forge")
    MirrorApplier(library).sync(mirror)
    model = webui / "models/Lora/pixel.safetensors"
    record = library.get_by_path(model)
    assert record is not None
    record = library.update_user_data(record.id, UserDataChanges(notes="keeps the pixels crisp"))
    reports, failures = write_many(library, [record])
    assert (len(reports), failures) == (1, [])
    entry = tmp_path / "forge/models/Lora/pixel.json"
    assert entry.stat().st_ino == model.with_name("pixel.json").stat().st_ino  # the new inode
    assert "keeps the pixels crisp" in entry.read_text(encoding="utf-8")
    assert library.mirror(mirror.id).report["updated"] == 1  # the re-link is counted as an update


@pytest.mark.parametrize("mode", [MirrorMode.HARDLINK, MirrorMode.COPY])
def test_a_model_replaced_in_place_is_followed_by_a_sync_without_a_scan(
    tmp_path: Path, webui: Path, library: Library, mode: MirrorMode
) -> None:
    mirror = create_mirror(library, MirrorUI.A1111, mode, tmp_path / "forge", kinds=[AssetKind.LORA])
    MirrorApplier(library).sync(mirror)
    model = webui / "models/Lora/styles/ink.safetensors"
    new_version = write_lora(tmp_path / "ink-v2.safetensors", "ink-v2").read_bytes()
    replace_atomically(model, new_version)  # the catalog still has the old inode: no scan yet
    report = MirrorApplier(library).sync(library.mirror(mirror.id))
    entry = tmp_path / "forge/models/Lora/styles/ink.safetensors"
    assert entry.read_bytes() == new_version
    assert (report.updated, report.not_ours, report.failed) == (1, [], [])
    if mode is MirrorMode.HARDLINK:
        assert entry.stat().st_ino == model.stat().st_ino


@pytest.mark.parametrize("mode", [MirrorMode.HARDLINK, MirrorMode.COPY])
def test_the_sync_after_a_scan_sees_a_sidecar_edited_in_another_tool(
    tmp_path: Path, webui: Path, library: Library, mode: MirrorMode
) -> None:
    mirror = create_mirror(library, MirrorUI.A1111, mode, tmp_path / "forge", kinds=[AssetKind.LORA])
    MirrorApplier(library).sync(mirror)
    notes = webui / "models/Lora/pixel.json"
    replace_atomically(notes, b'{"activation text": "pixel art, 8-bit"}')
    Scanner(library).scan()
    summary = sync_mirrors(library)  # what every scan ends with
    entry = tmp_path / "forge/models/Lora/pixel.json"
    assert entry.read_bytes() == b'{"activation text": "pixel art, 8-bit"}'
    assert summary.reports[0].updated == 1
    # edited in place (same inode, new time and size): a copy follows; a hard link shows it already
    with notes.open("ab") as handle:
        handle.write(b"\n")
    again = sync_mirrors(library).reports[0]
    assert entry.read_bytes() == notes.read_bytes()
    assert again.updated == (1 if mode is MirrorMode.COPY else 0)


# -- removing a mirror --------------------------------------------------------------------------------------


def test_removing_a_mirror_lists_what_it_left_and_removes_the_empty_folders_it_made(
    tmp_path: Path, library: Library
) -> None:
    comfy = tmp_path / "ComfyUI"
    (comfy / "models/loras").mkdir(parents=True)  # the user's, before the mirror
    (comfy / "models/vae").mkdir()  # the user's, empty: stays although the mirror never used it
    mine = comfy / "models/loras/mine.safetensors"
    mine.write_bytes(b"the user's own")
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, comfy)
    MirrorApplier(library).sync(mirror)
    assert (comfy / "models/loras/styles/ink.safetensors").is_symlink()
    # the user puts a file of theirs in a folder Atelier made: that folder stays
    (comfy / "models/embeddings/theirs.pt").write_bytes(b"an embedding of theirs")

    report = MirrorApplier(library).remove(library.mirror(mirror.id))

    assert report.removed == 5
    assert report.not_ours == [
        f"{comfy / 'models/embeddings/theirs.pt'}: not made by Atelier",
        f"{mine}: not made by Atelier",
    ]
    assert report.folders_removed == 1  # models/loras/styles, made by Atelier, now empty
    assert not (comfy / "models/loras/styles").exists()
    assert (comfy / "models/loras").is_dir()  # the user's folder
    assert (comfy / "models/vae").is_dir()
    assert (comfy / "models/embeddings/theirs.pt").read_bytes() == b"an embedding of theirs"
    assert "1 empty folder removed, 2 not made by Atelier left alone" in str(report)


def test_removing_a_mirror_in_a_new_folder_leaves_only_that_folder(tmp_path: Path, library: Library) -> None:
    mirror = create_mirror(library, MirrorUI.INVOKEAI, MirrorMode.HARDLINK, tmp_path / "invoke")
    MirrorApplier(library).sync(mirror)
    assert entries_of(tmp_path / "invoke")
    # a sync that is refused (the drive unplugged) keeps the list of folders Atelier made
    (tmp_path / "invoke").rename(tmp_path / "away")
    assert MirrorApplier(library).sync(library.mirror(mirror.id)).state == "unreachable"
    (tmp_path / "away").rename(tmp_path / "invoke")
    report = MirrorApplier(library).remove(library.mirror(mirror.id))
    assert (report.not_ours, report.failed) == ([], [])
    assert list((tmp_path / "invoke").iterdir()) == []  # every folder it made is gone; the mirror's stays


@pytest.mark.parametrize(
    ("ui", "advice"),
    [
        (MirrorUI.A1111, "--lora-dir"),
        (MirrorUI.COMFYUI, "extra_model_paths.yaml"),
        (MirrorUI.INVOKEAI, "Scan folder"),
    ],
)
def test_a_mirror_inside_the_library_is_refused_with_advice_for_its_ui(
    tmp_path: Path, webui: Path, library: Library, ui: MirrorUI, advice: str
) -> None:
    link = tmp_path / "linkroot"
    link.symlink_to(webui)
    with pytest.raises(MirrorError) as refused:
        create_mirror(library, ui, MirrorMode.SYMLINK, link)
    message = str(refused.value)
    assert "is inside the library folder" in message
    assert advice in message
    others = {"--lora-dir", "extra_model_paths.yaml", "Scan folder"} - {advice}
    assert not any(other in message for other in others)


# -- the cheap check of a mirror already up to date --------------------------------------------------------


def test_a_mirror_checked_up_to_date_is_checked_cheaply_and_still_sees_every_change(
    tmp_path: Path, webui: Path, library: Library
) -> None:
    from catalog.records import Overrides

    applier = MirrorApplier(library)
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.COPY, tmp_path / "ComfyUI")
    assert applier.sync(mirror).fingerprint == ""  # it changed things: nothing to trust yet
    verified = applier.sync(library.mirror(mirror.id))
    assert (verified.changed, verified.kept) == (0, 5)
    assert verified.fingerprint  # nothing to do: its inputs are remembered
    again = applier.sync(library.mirror(mirror.id))
    assert (again.changed, again.kept, again.fingerprint) == (0, 5, verified.fingerprint)

    def sync_once_more() -> tuple[int, int, int]:
        report = applier.sync(library.mirror(mirror.id))
        applier.sync(library.mirror(mirror.id))  # verified again, for the next change
        return report.added, report.updated, report.removed

    notes = webui / "models/Lora/pixel.json"
    with notes.open("ab") as handle:  # edited in place in another tool: same inode, new size and time
        handle.write(b" ")
    assert sync_once_more() == (0, 1, 0)
    assert (tmp_path / "ComfyUI/models/loras/pixel.json").read_bytes() == notes.read_bytes()

    (tmp_path / "ComfyUI/models/embeddings/bad_hands.safetensors").unlink()  # the user deleted an entry
    assert sync_once_more() == (1, 0, 0)

    (webui / "models/Lora/pixel.civitai.info").write_text("{}", encoding="utf-8")  # a new sidecar
    assert sync_once_more() == (1, 0, 0)
    assert (tmp_path / "ComfyUI/models/loras/pixel.civitai.info").exists()

    ink = library.get_by_path(webui / "models/Lora/styles/ink.safetensors")
    assert ink is not None
    library.set_overrides(ink.id, Overrides(kind=AssetKind.EMBEDDING))  # a change in the catalog only
    assert sync_once_more() == (1, 0, 1)
    assert (tmp_path / "ComfyUI/models/embeddings/ink.safetensors").exists()

    loras = tmp_path / "ComfyUI/models/loras"
    shutil.rmtree(loras)
    loras.symlink_to(webui / "models/Lora")  # the user made the folder a link into the library
    report = applier.sync(library.mirror(mirror.id))
    assert report.not_ours
    assert not report.fingerprint
    assert (webui / "models/Lora/pixel.safetensors").exists()


def test_a_mirror_with_a_users_file_in_the_way_is_always_checked_in_full(
    tmp_path: Path, library: Library
) -> None:
    loras = tmp_path / "ComfyUI/models/loras"
    loras.mkdir(parents=True)
    theirs = loras / "pixel.safetensors"
    theirs.write_bytes(b"the user's own")
    applier = MirrorApplier(library)
    mirror = create_mirror(library, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "ComfyUI")
    applier.sync(mirror)
    settled = applier.sync(library.mirror(mirror.id))
    assert settled.not_ours
    assert settled.fingerprint == ""  # where the user's file stands is not in the fingerprint
    theirs.unlink()  # the user moved their file away: the next sync puts ours there with its sidecars
    report = applier.sync(library.mirror(mirror.id))
    assert (report.added, report.not_ours) == (3, [])
    assert (loras / "pixel.safetensors").is_symlink()
