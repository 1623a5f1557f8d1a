"""The after-scan chain ends by merging the search index when a step wrote, and leaves it alone (without
opening the library for writing) when a rescan found nothing new; on real files and a real catalog."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.after_scan import ChainJobs, ChainSteps, context_jobs, run_chain
from app.context import AppContext
from catalog import fts_match
from catalog.records import AssetQuery, UserDataChanges
from core.jobs import CancelToken, ProgressCallback
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": ("F16", ()),
}
SCAN_ONLY = ChainSteps(hash=False, look_up=False)


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext(tmp_path / "profile")
    try:
        yield context
    finally:
        context.close()


def _work_left(catalog: Path) -> bool:
    """Whether the search index has segments to merge, asked of a copy (the catalog is left as it is)."""
    with sqlite3.connect(catalog) as source, sqlite3.connect(":memory:", isolation_level=None) as copy:
        source.backup(copy)
        return fts_match.merge_step(copy)


def _recording(context: AppContext, calls: list[str]) -> ChainJobs:
    jobs = context_jobs(context)
    merge = jobs.merge_search_index
    assert merge is not None

    def recorded(progress: ProgressCallback, cancel: CancelToken) -> object:
        calls.append("merge")
        return merge(progress, cancel)

    return dataclasses.replace(jobs, merge_search_index=recorded)


def test_a_scan_that_wrote_leaves_the_search_index_merged(context: AppContext, tmp_path: Path) -> None:
    models = tmp_path / "models"
    for index, name in enumerate(("pixel_art", "ink_sketch", "noir_film")):
        write_safetensors(models / "Lora" / f"{name}.safetensors", LORA, seed=index)
    context.add_root(models)
    run_chain(context_jobs(context), SCAN_ONLY)
    library = context.library
    for record in library.search(AssetQuery()):  # the user's edits: a segment each
        library.update_user_data(record.id, UserDataChanges(tags=(f"tag {record.file_name[:3]}",)))
    write_safetensors(models / "Lora" / "watercolor.safetensors", LORA, seed=9)
    assert _work_left(context.catalog_path)

    summary = run_chain(context_jobs(context), SCAN_ONLY)

    assert "1 new" in str(summary)
    assert not _work_left(context.catalog_path)
    assert [record.file_name for record in library.search(AssetQuery(text="water"))] == [
        "watercolor.safetensors"
    ]
    assert len(library.search_ids(AssetQuery(text="tag"))) == 3


def test_only_a_run_that_wrote_merges(context: AppContext, tmp_path: Path) -> None:
    models = tmp_path / "models"
    write_safetensors(models / "Lora" / "pixel_art.safetensors", LORA, seed=1)
    context.add_root(models)
    calls: list[str] = []

    run_chain(_recording(context, calls), SCAN_ONLY)
    assert calls == ["merge"]
    run_chain(_recording(context, calls), SCAN_ONLY)  # nothing new, changed, moved or missing
    assert calls == ["merge"]
    (models / "Lora" / "pixel_art.safetensors").unlink()
    run_chain(_recording(context, calls), SCAN_ONLY)  # a file went missing
    assert calls == ["merge", "merge"]
