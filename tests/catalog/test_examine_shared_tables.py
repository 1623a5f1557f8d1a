"""A scan read in this process identifies files sharing a tensor table each on its own, then lets go of the
tables it validated (the window's process must not keep them after its small scans)."""

from __future__ import annotations

from pathlib import Path

from catalog.library import Library
from catalog.records import AssetQuery
from catalog.scanner import Scanner
from core.formats import safetensors_header as sh
from core.taxonomy import Architecture, AssetKind, FileStatus
from tests.factory import models
from tests.factory.models import write_case


def test_loras_sharing_a_table_are_cataloged_each_with_its_metadata(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    base = models.kohya_lora("sd1")
    for name in ("alpha", "beta"):
        (models_dir / name).mkdir()
        write_case(base.with_metadata(ss_output_name=f"{name}-style"), models_dir / name)

    summary = Scanner(lib, workers=1).scan([root_id])

    assert summary.seen == 2
    assert len(sh._TABLES) == 0
    records = sorted(lib.search(AssetQuery()), key=lambda record: record.path)
    assert [record.embedded_metadata.get("output_name") for record in records] == [
        "alpha-style",
        "beta-style",
    ]
    for record in records:
        assert record.status is FileStatus.OK
        assert record.kind is AssetKind.LORA
        assert record.architecture is Architecture.SD1
