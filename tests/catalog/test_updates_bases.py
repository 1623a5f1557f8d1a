"""The base-model key is the same in Python and in SQL, for every label Civitai uses, on a real SQLite
catalog: the "has update" SQL and the update list must pick the same version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, literal, select

from catalog.updates_bases import base_key, base_key_sql, base_key_text
from core.identify.vocabulary import CIVITAI_LABELS
from core.sources.site_words import CIVITAI_BASE_MODEL_LABELS


def test_every_civitai_label_has_one_key_in_python_and_in_both_sql_spellings(tmp_path: Path) -> None:
    labels = sorted({*CIVITAI_LABELS, *CIVITAI_BASE_MODEL_LABELS, "Flux .1 D", "sd 1.5"})
    engine = create_engine(f"sqlite:///{tmp_path / 'keys.sqlite3'}")
    raw = sqlite3.connect(tmp_path / "raw.sqlite3")
    with engine.connect() as connection:
        for label in labels:
            column = literal(label).label("l")
            orm_key = connection.scalar(select(base_key_sql(column)))  # type: ignore[arg-type]
            (text_key,) = raw.execute(f"SELECT {base_key_text('?')}", (label,)).fetchone()
            assert orm_key == text_key == base_key(label), label
    raw.close()
    assert base_key("Flux .1 D") == base_key("Flux.1 D")
