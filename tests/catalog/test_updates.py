"""Which files have an update: a newer version of their Civitai model, not in the library, not ignored."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from catalog.library import Library
from catalog.records import AssetQuery, RemoteMatch
from core.sources.civitai_updates import ModelVersions, VersionFile, VersionInfo
from tests.catalog.conftest import scanned

MODEL = 7001
START = datetime(2024, 1, 1, tzinfo=UTC)


def version(version_id: int, day: int, changes: str = "", base: str = "Illustrious") -> VersionInfo:
    return VersionInfo(
        id=version_id,
        name=f"v{version_id}",
        base_model=base,
        published_at=START + timedelta(days=day),
        files=(VersionFile(f"lora_v{version_id}.safetensors", 1024, "A" * 64, True),),
        changes=changes,
        trained_words=("pixel art",),
    )


def model(*versions: VersionInfo, model_id: int = MODEL) -> ModelVersions:
    ordered = tuple(sorted(versions, key=lambda v: v.published_at or START, reverse=True))
    return ModelVersions(model_id=model_id, model_name="Pixel LoRA", model_type="LORA", versions=ordered)


def add_linked(
    lib: Library,
    root_id: int,
    folder: Path,
    name: str,
    version_id: int,
    *,
    model_id: int = MODEL,
    base: str | None = None,
) -> int:
    path = folder / name
    path.write_bytes(b"x")
    (asset_id,) = lib.apply_scan_batch(root_id, [scanned(path, inode=version_id)])
    lib.record_remote_match(
        asset_id,
        RemoteMatch(
            site="civitai",
            model_id=str(model_id),
            version_id=str(version_id),
            model_name="Pixel LoRA",
            version_name=f"v{version_id}",
            base_model_label=base,
        ),
    )
    return asset_id


def badged(lib: Library) -> set[int]:
    return set(lib.search_ids(AssetQuery(has_update=True)))


def test_an_older_version_has_an_update_with_what_changed(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    old = add_linked(lib, root_id, models_dir, "pixel_v1.safetensors", 1)
    lib.record_update_check([model(version(1, 0), version(2, 10), version(3, 20, "Sharper lines."))])

    assert badged(lib) == {old}
    assert lib.update_asset_ids() == {old}
    assert lib.count(AssetQuery(has_update=True)) == 1
    (update,) = lib.asset_updates()
    assert (update.asset_id, update.current_version_id, update.newest.id) == (old, 1, 3)
    assert [v.id for v in update.newer] == [3, 2]
    assert update.newest.changes == "Sharper lines."
    assert update.newest.base_model == "Illustrious"


def test_the_update_of_a_file_is_the_newest_version_for_its_own_base_model(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    """A model with one version per base: the Pony file's update is the newer Pony version, not the
    newest version overall (an Illustrious sibling); the Illustrious file, newest for its base, has none.
    The badge, the "has update" filter and the update list agree (one SQL rule, one Python choice)."""
    pony = add_linked(lib, root_id, models_dir, "pixel_pony_v1.safetensors", 1, base="Pony")
    illustrious = add_linked(lib, root_id, models_dir, "pixel_il_v3.safetensors", 3, base="Illustrious")
    lib.record_update_check(
        [model(version(1, 0, base="Pony"), version(2, 10, base="Pony"), version(3, 20, base="Illustrious"))]
    )

    assert badged(lib) == {pony}
    assert lib.update_asset_ids() == {pony}
    assert lib.count(AssetQuery(has_update=True)) == 1
    (update,) = lib.asset_updates()
    assert (update.asset_id, update.newest.id, [v.id for v in update.newer]) == (pony, 2, [2])
    assert lib.asset_updates([illustrious]) == []

    lib.ignore_update(MODEL, 2)
    assert badged(lib) == set()


def test_the_newest_version_is_up_to_date(lib: Library, root_id: int, models_dir: Path) -> None:
    add_linked(lib, root_id, models_dir, "pixel_v2.safetensors", 2)
    lib.record_update_check([model(version(1, 0), version(2, 10))])

    assert badged(lib) == set()


def test_no_badge_when_the_newer_version_is_already_in_the_library(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    add_linked(lib, root_id, models_dir, "pixel_v1.safetensors", 1)
    add_linked(lib, root_id, models_dir, "pixel_v2.safetensors", 2)
    lib.record_update_check([model(version(1, 0), version(2, 10))])

    assert badged(lib) == set()
    assert lib.asset_updates() == []


def test_ignored_update_has_no_badge_until_a_still_newer_version(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    old = add_linked(lib, root_id, models_dir, "pixel_v1.safetensors", 1)
    lib.record_update_check([model(version(1, 0), version(2, 10))])
    lib.ignore_update(MODEL, 2)

    assert badged(lib) == set()

    lib.record_update_check([model(version(1, 0), version(2, 10))])  # checking again keeps it ignored
    assert badged(lib) == set()

    lib.record_update_check([model(version(1, 0), version(2, 10), version(3, 30))])
    assert badged(lib) == {old}
    state = lib.model_update_state(MODEL)
    assert state is not None
    assert (state.latest_version_id, state.ignored_version_id) == (3, 2)


def test_the_filter_combines_with_other_filters_and_models_are_listed_once(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    first = add_linked(lib, root_id, models_dir, "pixel_v1.safetensors", 1)
    second = add_linked(lib, root_id, models_dir, "pixel_v1_copy.safetensors", 1)
    other = add_linked(lib, root_id, models_dir, "other.safetensors", 11, model_id=7002)
    lib.record_update_check([model(version(1, 0), version(2, 10)), model(version(11, 0), model_id=7002)])

    assert lib.linked_civitai_models() == [7001, 7002]
    assert badged(lib) == {first, second}
    assert other not in badged(lib)
    assert set(lib.search_ids(AssetQuery(has_update=True, text="copy"))) == {second}


def test_the_last_check_time_is_remembered(lib: Library, root_id: int, models_dir: Path) -> None:
    assert lib.last_update_check() is None
    add_linked(lib, root_id, models_dir, "pixel_v1.safetensors", 1)
    lib.record_update_check([model(version(1, 0))])

    last = lib.last_update_check()
    assert last is not None
    assert abs((datetime.now(UTC) - last).total_seconds()) < 60


def test_the_filter_stays_fast_on_a_large_library(lib: Library, root_id: int, models_dir: Path) -> None:
    files = [scanned(models_dir / f"file_{n:05}.safetensors", inode=n + 1) for n in range(5000)]
    ids = lib.apply_scan_batch(root_id, files)
    for number, asset_id in enumerate(ids[:100]):
        lib.record_remote_match(
            asset_id,
            RemoteMatch(site="civitai", model_id=str(10_000 + number), version_id=str(20_000 + number)),
        )
    lib.record_update_check(
        [model(version(20_000 + n, 0), version(30_000 + n, 5), model_id=10_000 + n) for n in range(100)]
    )

    started = time.perf_counter()
    page = lib.search(AssetQuery(has_update=True, limit=100))
    count = lib.count(AssetQuery(has_update=True))
    elapsed = time.perf_counter() - started

    assert count == 100
    assert len(page) == 100
    assert elapsed < 0.5
