"""The copy's one-line report counts rows in words (the CLI prints it after ``copy-catalog``)."""

from __future__ import annotations

from catalog.catalog_copy import CopyReport


def test_the_report_says_each_tables_rows_in_the_right_number() -> None:
    report = CopyReport({"assets": 3, "mirrors": 1, "roots": 1, "asset_tags": 2, "renders": 0})
    assert str(report) == "Copied 7 rows (3 assets, 1 mirror, 1 root, 2 asset tags)."
    assert str(CopyReport({"roots": 1})) == "Copied 1 row (1 root)."
    assert str(CopyReport({"assets": 0})) == "Copied 0 rows (an empty library)."
