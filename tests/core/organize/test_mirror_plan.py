"""The mirror planner: where files go, clashes, and a sync that touches only what Atelier made."""

from __future__ import annotations

from pathlib import Path, PurePath

from core.organize.mirror_plan import (
    DiskEntry,
    DiskKind,
    FileIdentity,
    MirrorLayout,
    MirrorMode,
    MirrorSource,
    RecordedEntry,
    SyncAction,
    WantedEntry,
    is_ours,
    plan_layout,
    plan_sync,
)
from core.taxonomy import Architecture, AssetKind

MIRROR = Path("/mirror/models")
FOLDERS = {AssetKind.LORA: MIRROR / "loras", AssetKind.CHECKPOINT: MIRROR / "checkpoints"}


def folder_for(kind: AssetKind, _architecture: Architecture) -> Path | None:
    return FOLDERS.get(kind)


def source(
    asset_id: int,
    path: str,
    *,
    kind: AssetKind = AssetKind.LORA,
    relative: str | None = None,
    companions: tuple[str, ...] = (),
    cover: str | None = None,
) -> MirrorSource:
    file = Path(path)
    ident = FileIdentity(100 + asset_id, 1_000 + asset_id, 1, 500 + asset_id)
    return MirrorSource(
        asset_id=asset_id,
        kind=kind,
        architecture=Architecture.SDXL,
        path=file,
        identity=ident,
        relative=PurePath(relative or file.name),
        companions=tuple((file.parent / name, FileIdentity(1, 1, 1, 900 + asset_id)) for name in companions),
        cover=(Path(cover), FileIdentity(2, 2, 1, 950)) if cover else None,
    )


def test_files_go_to_their_kind_folder_with_subfolders_sidecars_and_previews() -> None:
    layout = plan_layout(
        [
            source(
                1,
                "/lib/Lora/styles/pixel.safetensors",
                relative="styles/pixel.safetensors",
                companions=("pixel.civitai.info", "pixel.preview.png"),
            ),
            source(2, "/lib/ckpt/base.safetensors", kind=AssetKind.CHECKPOINT, cover="/cache/ab12.jpg"),
        ],
        folder_for,
    )
    targets = {entry.path: entry.source for entry in layout.entries}
    assert targets == {
        MIRROR / "loras/styles/pixel.safetensors": Path("/lib/Lora/styles/pixel.safetensors"),
        MIRROR / "loras/styles/pixel.civitai.info": Path("/lib/Lora/styles/pixel.civitai.info"),
        MIRROR / "loras/styles/pixel.preview.png": Path("/lib/Lora/styles/pixel.preview.png"),
        MIRROR / "checkpoints/base.safetensors": Path("/lib/ckpt/base.safetensors"),
        # the library's cover (a cached Civitai image) becomes the preview the other UI shows
        MIRROR / "checkpoints/base.preview.jpg": Path("/cache/ab12.jpg"),
    }
    assert not layout.clashes


def test_the_cover_is_not_added_when_a_preview_lies_beside_the_file() -> None:
    layout = plan_layout(
        [source(1, "/lib/a.safetensors", companions=("a.png",), cover="/cache/c.webp")], folder_for
    )
    assert {e.path.name for e in layout.entries} == {"a.safetensors", "a.png"}


def test_a_kind_the_ui_has_no_folder_for_is_skipped_with_the_reason() -> None:
    layout = plan_layout([source(1, "/lib/x.pt", kind=AssetKind.HYPERNETWORK)], folder_for)
    assert not layout.entries
    assert "no folder for hypernetwork" in str(layout.skipped[0])


def test_name_clashes_are_resolved_by_asset_id_whatever_the_order_and_reported() -> None:
    one = source(7, "/a/detail.safetensors", companions=("detail.preview.png",))
    two = source(3, "/b/Detail.safetensors", companions=("Detail.json",))
    for order in ([one, two], [two, one]):
        layout = plan_layout(order, folder_for)
        names = sorted(e.path.name for e in layout.entries)
        assert names == ["Detail.json", "Detail.safetensors", "detail-7.preview.png", "detail-7.safetensors"]
        (clash,) = layout.clashes
        assert clash.kept == Path("/b/Detail.safetensors")
        assert clash.renamed == ((Path("/a/detail.safetensors"), MIRROR / "loras/detail-7.safetensors"),)
        assert "2 files are named Detail.safetensors" in str(clash)


def test_a_renamed_clash_name_that_is_taken_gets_a_further_number() -> None:
    layout = plan_layout(
        [source(1, "/a/x.safetensors"), source(2, "/b/x.safetensors"), source(3, "/c/x-2.safetensors")],
        folder_for,
    )
    assert sorted(e.path.name for e in layout.entries) == [
        "x-2-2.safetensors",
        "x-2.safetensors",
        "x.safetensors",
    ]


# -- sync ---------------------------------------------------------------------------------------------

SRC = Path("/lib/a.safetensors")
ENTRY = MIRROR / "loras/a.safetensors"
IDENT = FileIdentity(10, 20, 1, 30)
WANT = MirrorLayout((WantedEntry(ENTRY, SRC, 1, IDENT),))
ALL = frozenset(MirrorMode)


def recorded(
    mode: MirrorMode, *, size: int = 10, mtime: int = 20, inode: int = 30, src: Path = SRC
) -> RecordedEntry:
    return RecordedEntry(ENTRY, src, 1, mode, size, mtime, inode)


def step(layout: MirrorLayout, records: list[RecordedEntry], disk: DiskEntry, **kw: object) -> SyncAction:
    plan = plan_sync(layout, records, {ENTRY: disk}, accepted_modes=kw.pop("modes", ALL), **kw)  # type: ignore[arg-type]
    return plan.steps[0].action


def test_an_entry_nobody_made_is_added() -> None:
    assert step(WANT, [], DiskEntry(DiskKind.MISSING)) is SyncAction.ADD


def test_a_users_file_where_an_entry_would_go_is_never_touched() -> None:
    assert step(WANT, [], DiskEntry(DiskKind.FILE, size=10, inode=77)) is SyncAction.NOT_OURS
    # even a link to the very same file: Atelier did not make it, so it never removes it later
    assert step(WANT, [], DiskEntry(DiskKind.SYMLINK, link_target=str(SRC))) is SyncAction.NOT_OURS


def test_our_symlink_is_kept_and_removed_when_no_longer_wanted() -> None:
    ours = DiskEntry(DiskKind.SYMLINK, link_target=str(SRC))
    assert step(WANT, [recorded(MirrorMode.SYMLINK)], ours) is SyncAction.KEEP
    assert step(MirrorLayout(()), [recorded(MirrorMode.SYMLINK)], ours) is SyncAction.REMOVE


def test_a_symlink_the_user_repointed_is_theirs() -> None:
    theirs = DiskEntry(DiskKind.SYMLINK, link_target="/elsewhere/a.safetensors")
    assert step(MirrorLayout(()), [recorded(MirrorMode.SYMLINK)], theirs) is SyncAction.NOT_OURS


def test_a_copy_the_user_edited_or_replaced_is_theirs() -> None:
    edited = DiskEntry(DiskKind.FILE, size=11, mtime_ns=20, inode=30)
    replaced = DiskEntry(DiskKind.FILE, size=10, mtime_ns=20, inode=31)
    for disk in (edited, replaced):
        assert step(MirrorLayout(()), [recorded(MirrorMode.COPY)], disk) is SyncAction.NOT_OURS


def test_a_copy_of_a_changed_source_is_updated() -> None:
    ours = DiskEntry(DiskKind.FILE, size=10, mtime_ns=20, inode=30)
    assert step(WANT, [recorded(MirrorMode.COPY)], ours) is SyncAction.KEEP
    changed = MirrorLayout((WantedEntry(ENTRY, SRC, 1, FileIdentity(12, 25, 1, 30)),))
    assert step(changed, [recorded(MirrorMode.COPY)], ours) is SyncAction.UPDATE


def test_a_hard_link_follows_the_source_inode() -> None:
    ours = DiskEntry(DiskKind.FILE, size=99, mtime_ns=99, inode=30)  # written in place: still the same inode
    assert is_ours(recorded(MirrorMode.HARDLINK), ours)
    assert step(WANT, [recorded(MirrorMode.HARDLINK)], ours) is SyncAction.KEEP
    replaced_source = MirrorLayout((WantedEntry(ENTRY, SRC, 1, FileIdentity(10, 20, 1, 31)),))
    assert step(replaced_source, [recorded(MirrorMode.HARDLINK)], ours) is SyncAction.UPDATE


def test_an_entry_of_ours_that_vanished_is_forgotten_or_made_again() -> None:
    missing = DiskEntry(DiskKind.MISSING)
    assert step(MirrorLayout(()), [recorded(MirrorMode.SYMLINK)], missing) is SyncAction.FORGET
    assert step(WANT, [recorded(MirrorMode.SYMLINK)], missing) is SyncAction.ADD


def test_an_entry_in_a_mode_no_longer_wanted_is_remade_unless_the_disk_needed_it() -> None:
    ours = DiskEntry(DiskKind.FILE, size=10, mtime_ns=20, inode=30)
    only_links = frozenset({MirrorMode.SYMLINK})
    assert step(WANT, [recorded(MirrorMode.COPY)], ours, modes=only_links) is SyncAction.UPDATE
    assert step(WANT, [recorded(MirrorMode.COPY)], ours, modes=ALL) is SyncAction.KEEP


def test_a_source_renamed_in_the_library_replaces_our_entry_only() -> None:
    renamed = MirrorLayout(
        (WantedEntry(MIRROR / "loras/b.safetensors", Path("/lib/b.safetensors"), 1, IDENT),)
    )
    ours = DiskEntry(DiskKind.SYMLINK, link_target=str(SRC))
    plan = plan_sync(renamed, [recorded(MirrorMode.SYMLINK)], {ENTRY: ours}, accepted_modes=ALL)
    actions = {s.path.name: s.action for s in plan.steps}
    assert actions == {"a.safetensors": SyncAction.REMOVE, "b.safetensors": SyncAction.ADD}
    assert plan.changes == 2


def test_nothing_is_touched_inside_a_folder_that_is_unsafe() -> None:
    ours_in_appearance = DiskEntry(DiskKind.FILE, size=10, mtime_ns=20, inode=30)
    plan = plan_sync(
        MirrorLayout(()),
        [recorded(MirrorMode.HARDLINK)],
        {ENTRY: ours_in_appearance},
        accepted_modes=ALL,
        unsafe_folders={MIRROR / "loras": "a link into the library"},
    )
    assert [s.action for s in plan.steps] == [SyncAction.NOT_OURS]
    assert plan.steps[0].recorded is None  # the record stays: nothing is decided through that folder


def test_an_up_to_date_mirror_has_no_changes() -> None:
    ours = DiskEntry(DiskKind.SYMLINK, link_target=str(SRC))
    plan = plan_sync(WANT, [recorded(MirrorMode.SYMLINK)], {ENTRY: ours}, accepted_modes=ALL)
    assert plan.changes == 0


def test_fallback_order() -> None:
    assert MirrorMode.SYMLINK.fallbacks == (MirrorMode.SYMLINK, MirrorMode.HARDLINK, MirrorMode.COPY)
    assert MirrorMode.HARDLINK.fallbacks == (MirrorMode.HARDLINK, MirrorMode.COPY)
    assert MirrorMode.COPY.fallbacks == (MirrorMode.COPY,)


def test_sidecars_are_not_put_beside_a_users_file_of_the_models_name() -> None:
    layout = plan_layout([source(1, "/lib/a.safetensors", companions=("a.preview.png",))], folder_for)
    model, preview = MIRROR / "loras/a.safetensors", MIRROR / "loras/a.preview.png"
    theirs = {model: DiskEntry(DiskKind.FILE, size=5, inode=99)}
    plan = plan_sync(layout, [], theirs, accepted_modes=ALL)
    assert [(s.path, s.action) for s in plan.steps] == [(model, SyncAction.NOT_OURS)]
    assert any("did not make" in str(item) for item in plan.skipped)
    # an earlier preview of ours there is taken away again
    ours = RecordedEntry(preview, Path("/lib/a.preview.png"), 1, MirrorMode.SYMLINK, 1, 1, 0)
    disk = {**theirs, preview: DiskEntry(DiskKind.SYMLINK, link_target="/lib/a.preview.png")}
    plan = plan_sync(layout, [ours], disk, accepted_modes=ALL)
    assert {s.path: s.action for s in plan.steps}[preview] is SyncAction.REMOVE
