"""The library's base-model filter (``AssetQuery.base_models``) and the labels it can choose from
(``base_model_labels``), on SQLite and PostgreSQL alike (``lib`` runs each test on both).

Pony, Illustrious and NoobAI files are all SDXL by their tensors: only their base-model label tells them
apart. The label a filter matches is the effective one: Civitai's (a match fills the empty label), unless
the user set their own, and a label the user cleared is no label."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog import queries
from catalog.library import Library
from catalog.records import AssetQuery, HiddenFilter, RemoteMatch, UserDataChanges
from core.taxonomy import Architecture, FileStatus
from tests.catalog.conftest import catalog_rows, scanned


@pytest.fixture
def labelled(lib: Library, root_id: int, models_dir: Path) -> dict[str, int]:
    """Seven SDXL or SD1 files; their labels come from Civitai, from the user, or from both."""
    names = ("pony", "pony_civitai", "illustrious", "noob", "overridden", "sd1_pony", "unlabelled")
    files = [
        scanned(
            models_dir / f"{name}.safetensors",
            inode=position + 1,
            architecture=Architecture.SD1 if name == "sd1_pony" else Architecture.SDXL,
        )
        for position, name in enumerate(names)
    ]
    ids = dict(zip(names, lib.apply_scan_batch(root_id, files), strict=True))
    for name, label in (("pony", "Pony"), ("illustrious", "Illustrious"), ("sd1_pony", "pony")):
        lib.update_user_data(ids[name], UserDataChanges(base_model_label=label))
    # Civitai's labels: one on a file the user left alone, one on a file the user labelled already.
    for name, label in (("pony_civitai", "Pony"), ("noob", "NoobAI"), ("overridden", "Pony")):
        lib.record_remote_match(
            ids[name], RemoteMatch(site="civitai", model_id="1", version_id=name, base_model_label=label)
        )
    lib.update_user_data(ids["overridden"], UserDataChanges(base_model_label="Illustrious"))
    return ids


def found(lib: Library, **filters: object) -> set[str]:
    query = AssetQuery(**filters)  # type: ignore[arg-type]
    shown = {record.file_name.removesuffix(".safetensors") for record in lib.search(query)}
    assert lib.count(query) == len(shown), "the count and the search disagree"
    return shown


def test_the_filter_matches_the_effective_label_in_any_case(lib: Library, labelled: dict[str, int]) -> None:
    assert found(lib, base_models=("Pony",)) == {"pony", "pony_civitai", "sd1_pony"}
    assert found(lib, base_models=("PONY",)) == found(lib, base_models=("pony",))
    # The user's label wins over Civitai's: "overridden" was Pony on Civitai, Illustrious by the user.
    assert found(lib, base_models=("illustrious",)) == {"illustrious", "overridden"}
    assert found(lib, base_models=("NoobAI", "Illustrious")) == {"noob", "illustrious", "overridden"}
    assert found(lib, base_models=("Pony",), architectures=(Architecture.SDXL,)) == {"pony", "pony_civitai"}
    assert found(lib, base_models=("Ponyy",)) == set()
    assert len(found(lib)) == 7  # no label filters nothing


def test_a_cleared_label_is_no_label(lib: Library, labelled: dict[str, int]) -> None:
    lib.update_user_data(labelled["noob"], UserDataChanges(base_model_label=""))
    assert found(lib, base_models=("NoobAI",)) == set()
    assert "NoobAI" not in lib.base_model_labels().get(Architecture.SDXL, {})


def test_hidden_and_missing_files_follow_the_hidden_and_status_filters(
    lib: Library, labelled: dict[str, int]
) -> None:
    lib.update_user_data(labelled["pony"], UserDataChanges(hidden=True))
    assert found(lib, base_models=("Pony",)) == {"pony_civitai", "sd1_pony"}
    assert found(lib, base_models=("Pony",), hidden=HiddenFilter.ONLY) == {"pony"}
    lib.mark_missing([labelled["pony_civitai"]])
    assert found(lib, base_models=("Pony",)) == {"sd1_pony"}
    assert found(lib, base_models=("Pony",), statuses=(FileStatus.MISSING,)) == {"pony_civitai"}


def test_the_labels_held_come_under_their_files_architecture(lib: Library, labelled: dict[str, int]) -> None:
    labels = lib.base_model_labels()
    assert labels == {
        Architecture.SD1: {"pony": 1},
        Architecture.SDXL: {"Illustrious": 2, "NoobAI": 1, "Pony": 2},
    }
    assert list(labels) == [Architecture.SD1, Architecture.SDXL]  # the taxonomy's order
    assert lib.facets().base_models == labels  # what the window's architecture combo offers
    # The shown files only: a hidden file's label is not offered (one spelling per label, folded).
    lib.update_user_data(labelled["noob"], UserDataChanges(hidden=True))
    lib.update_user_data(labelled["pony"], UserDataChanges(base_model_label="PONY"))
    lib.update_user_data(labelled["pony_civitai"], UserDataChanges(base_model_label="PONY"))
    assert lib.base_model_labels()[Architecture.SDXL] == {"Illustrious": 2, "PONY": 2}


@pytest.mark.sqlite_only  # SQLite's own plan; PostgreSQL plans by its statistics
def test_the_labels_are_read_from_their_index_never_from_the_wide_rows(
    lib: Library, labelled: dict[str, int]
) -> None:
    """The window reads them again after every edit, on its own thread: on 100k files the rows took
    0.17 s, the index 5 ms (migration 0019)."""
    plan = catalog_rows(lib, f"EXPLAIN QUERY PLAN {queries._BASE_MODEL_LABELS}", {"missing": "missing"})
    assert [row[-1] for row in plan] == [
        "SEARCH a USING COVERING INDEX ix_assets_base_model (base_model_label>?)"
    ]
