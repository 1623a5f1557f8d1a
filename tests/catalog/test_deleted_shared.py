"""A delete's journal step keeps its paths in the shared form (catalog.step_paths): written by one machine
at its own paths, stored canonical, read by every machine at its own; a path below no shared folder (a
machine's home trash) stays as written. On a real PostgreSQL server and on one SQLite file opened twice.
The undo itself, on real files, is tests/app/organize/test_undo_on_another_machine.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from catalog.journal import DONE, NewStep
from tests.catalog.conftest import catalog_rows
from tests.catalog.shared_machines import A, B, Opener


def _detail(folder: Path, home: Path) -> dict[str, Any]:
    model = folder / "Lora" / "ink.safetensors"
    return {
        "companions": [str(folder / "Lora" / "ink.civitai.info")],
        "trashed": [
            {
                "original": str(model),
                "trashed": str(home / "Trash" / "files" / "ink.safetensors"),
                "info": str(home / "Trash" / "info" / "ink.safetensors.trashinfo"),
            }
        ],
        "snapshot": {
            "asset": {"id": 7, "path": str(model), "file_name": "ink.safetensors"},
            "previews": [{"path": str(folder / "Lora" / "ink.preview.png"), "source": "sidecar"}],
            "tags": ["ink"],
        },
        "deleted_on": {"id": B.id, "name": B.name},
    }


def _stored(lib: Any, step_id: int) -> dict[str, Any]:
    (row,) = catalog_rows(lib, "SELECT detail FROM organize_steps WHERE id = :id", {"id": step_id})
    value = row[0]
    return json.loads(value) if isinstance(value, str) else dict(value)


def test_a_step_written_on_b_is_stored_canonical_and_read_at_each_machines_path(
    open_as: Opener, tmp_path: Path
) -> None:
    on_a, on_b, home = tmp_path / "nas" / "sd", tmp_path / "mnt" / "b" / "sd", tmp_path / "home" / "b"
    a = open_as(A)
    a.add_root(on_a, name="NAS")
    on_b.mkdir(parents=True)
    b = open_as(B)
    b.map_root("NAS", on_b)  # no file cataloged yet: any folder maps
    model = on_b / "Lora" / "ink.safetensors"
    _operation, (step,) = b.begin_operation(
        "delete", "Delete ink", [NewStep("trash", str(model), "", None, {"companions": []})]
    )
    b.set_step_state(step.id, DONE, _detail(on_b, home))

    assert _stored(b, step.id) == _detail(on_a, home)
    (seen_by_a,) = a.operation_steps(step.operation_id)
    assert seen_by_a.source == str(on_a / "Lora" / "ink.safetensors")
    assert seen_by_a.detail == _detail(on_a, home)
    (seen_by_b,) = b.operation_steps(step.operation_id)
    assert seen_by_b.detail == _detail(on_b, home)


def test_a_machine_that_maps_nothing_reads_and_writes_details_as_they_are(
    open_as: Opener, tmp_path: Path
) -> None:
    folder, home = tmp_path / "models", tmp_path / "home"
    a = open_as(A)
    a.add_root(folder, name="models")
    _operation, (step,) = a.begin_operation(
        "delete", "Delete ink", [NewStep("trash", str(folder / "Lora" / "ink.safetensors"), "", None, {})]
    )
    a.set_step_state(step.id, DONE, _detail(folder, home))
    assert _stored(a, step.id) == _detail(folder, home)
    assert a.operation_steps(step.operation_id)[0].detail == _detail(folder, home)
