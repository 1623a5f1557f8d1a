"""SIGKILL while organizing 600 real files, at several random moments, then a rerun: nothing lost.

``python main.py organize --template ...`` runs as a child process and is killed with SIGKILL: sometimes
at a random time after it starts (while it starts, plans, recovers or moves), sometimes right after a
random number of its journal steps are done (so most kills land in the middle of the moves). The next run
opens the library, which completes or rolls back the cut-off operation, and organizes on. At the end:

* the multiset of (content SHA256, sidecar endings beside it) is what it was before: no file lost or
  duplicated, no sidecar or preview separated from its model, and no sidecar left alone anywhere;
* every catalog row's path exists and every model file on disk has exactly one row; every sidecar
  preview the catalog lists exists;
* no ``.atelier-part`` file is left and no operation is still ``applying``.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from app.organize.engine import FLUSH_STEPS
from catalog.library import Library
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from tests.app.main_process import MAIN, ROOT, main_env
from tests.app.organize.template_library import write_embedding
from tests.factory.civitai_info import civitai_helper_payload, write_civitai_helper_info
from tests.factory.files import tiny_png, write_a1111_user_metadata
from tests.factory.models import kohya_lora
from tests.factory.safetensors_writer import write_safetensors

# Three journal batches (engine.FLUSH_STEPS): a kill after up to 400 done steps (two batches) still leaves
# a third of the moves to do, and a kill at a random time lands anywhere from the start to the last moves.
FILES = 3 * FLUSH_STEPS
LORAS = 20
TEMPLATES = ("{kind}/{architecture}/{creator|unknown}", "{architecture}/{kind}/{folder}")
KILLS = 6
SEED = int(os.environ.get("ATELIER_KILL_SEED", "9"))


def _make_library(root: Path) -> None:
    lora = kohya_lora("sd1", rank=1)
    for index in range(FILES):
        folder = root / f"batch{index % 10}"
        if index < LORAS:
            model = write_safetensors(
                folder / f"lora{index:04d}.safetensors", lora.specs, metadata={"ss_output_name": f"l{index}"}
            )
        else:
            model = write_embedding(folder / f"emb{index:04d}.safetensors", index, sdxl=index % 3 == 0)
        if index % 4 == 0:
            creator = f"creator{index % 7}"
            write_civitai_helper_info(model, civitai_helper_payload(creator=creator, version_id=index + 1))
        if index % 6 == 0:
            model.with_name(f"{model.stem}.preview.png").write_bytes(tiny_png())
        if index % 9 == 0:
            write_a1111_user_metadata(model, notes=f"note {index}")


def _is_model(path: Path) -> bool:
    return path.suffix == ".safetensors"


def _snapshot(root: Path) -> Counter[tuple[str, frozenset[str]]]:
    """(SHA256, sidecar endings) per model file; fails on a sidecar that no model in its folder owns."""
    found: Counter[tuple[str, frozenset[str]]] = Counter()
    for folder, _dirs, names in os.walk(root):
        models = sorted((name for name in names if _is_model(Path(name))), key=len, reverse=True)
        stems = [name[: -len(".safetensors")] for name in models]
        owned: dict[str, set[str]] = {stem: set() for stem in stems}
        for name in names:
            if _is_model(Path(name)):
                continue
            owner = next((stem for stem in stems if name.startswith(stem + ".")), None)
            assert owner is not None, f"{Path(folder) / name} is separated from its model"
            owned[owner].add(name[len(owner) :])
        for model, stem in zip(models, stems, strict=True):
            digest = hashlib.sha256((Path(folder) / model).read_bytes()).hexdigest()
            found[(digest, frozenset(owned[stem]))] += 1
    return found


def _query(data: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{data / 'catalog.sqlite3'}?mode=ro", uri=True, timeout=30) as db:
        return db.execute(sql).fetchall()


def _organize(data: Path, template: str) -> subprocess.Popen[str]:
    env = main_env({"ATELIER_DATA_DIR": str(data), "XDG_DATA_HOME": str(data / "xdg")})
    return subprocess.Popen(
        [sys.executable, str(MAIN), "organize", "--template", template, "--yes"],  # no terminal: --yes
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _steps_done(data: Path) -> int:
    try:
        rows = _query(
            data,
            "SELECT count(*) FROM organize_steps JOIN organize_operations AS op ON op.id = operation_id "
            "WHERE op.state = 'applying' AND organize_steps.state = 'done'",
        )
    except sqlite3.OperationalError:  # the schema is being created or the file is locked a moment
        return 0
    count = rows[0][0]
    assert isinstance(count, int)
    return count


def _kill_when(child: subprocess.Popen[str], ready: object, limit_s: float = 30.0) -> bool:
    """Waits until ``ready()`` or the child ends; kills it with SIGKILL. True when it was killed."""
    deadline = time.monotonic() + limit_s
    while child.poll() is None and time.monotonic() < deadline:
        if ready():  # type: ignore[operator]
            break
        time.sleep(0.005)
    if child.poll() is not None:
        return False
    child.send_signal(signal.SIGKILL)
    child.wait()
    return True


@pytest.mark.slow
def test_sigkill_at_random_points_then_a_rerun_loses_nothing(tmp_path: Path) -> None:
    root, data = tmp_path / "models", tmp_path / "data"
    _make_library(root)
    library = Library.open(data / "catalog.sqlite3")
    library.add_root(root.resolve(), LibraryLayout.FLAT)
    Scanner(library).scan()
    library.close()
    before = _snapshot(root)
    assert sum(before.values()) == FILES

    rng = random.Random(SEED)
    killed_mid_operation = 0
    for round_number in range(KILLS):
        template = TEMPLATES[round_number % 2]
        child = _organize(data, template)
        started = time.monotonic()
        if round_number % 3 == 2:  # any moment: while starting, recovering, planning or moving
            delay = rng.uniform(0.2, 3.0)
            _kill_when(child, lambda d=delay, t=started: time.monotonic() - t >= d)
        else:  # after a random number of steps of this run's operation
            steps = rng.randrange(1, 2 * FLUSH_STEPS)
            _kill_when(child, lambda s=steps: _steps_done(data) >= s)
        if _query(data, "SELECT count(*) FROM organize_operations WHERE state = 'applying'")[0][0]:
            killed_mid_operation += 1
    assert killed_mid_operation >= 2, "the kills should land in the middle of the moves"

    final = _organize(data, TEMPLATES[0])
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, out + err
    assert "Traceback" not in err

    assert _snapshot(root) == before
    assert not list(root.rglob("*.atelier-part*"))
    assert _query(data, "SELECT count(*) FROM organize_operations WHERE state = 'applying'") == [(0,)]
    rows = [str(path) for (path,) in _query(data, "SELECT path FROM assets")]
    assert len(rows) == len(set(rows)) == FILES
    on_disk = {str(path) for path in root.resolve().rglob("*.safetensors")}
    assert set(rows) == on_disk
    previews = [Path(str(p)) for (p,) in _query(data, "SELECT path FROM previews WHERE source = 'sidecar'")]
    assert previews
    assert all(path.exists() for path in previews)
    # and the files are where the template says
    assert all(Path(row).relative_to(root.resolve()).parts[0] in ("Embedding", "LoRA") for row in rows)


@pytest.mark.slow
def test_ctrl_c_stops_between_files_and_keeps_what_moved(tmp_path: Path) -> None:
    root, data = tmp_path / "models", tmp_path / "data"
    # The journal marks moves done in batches (engine.FLUSH_STEPS, 200): enough files that most are still
    # to move when the first batch shows, however fast the machine moves them.
    files = 1000
    for index in range(files):
        write_embedding(root / "in" / f"emb{index:04d}.safetensors", index)
    library = Library.open(data / "catalog.sqlite3")
    library.add_root(root.resolve(), LibraryLayout.FLAT)
    Scanner(library).scan()
    library.close()
    before = _snapshot(root)

    child = _organize(data, "{kind}/{architecture}")
    deadline = time.monotonic() + 60
    while _steps_done(data) < 5 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)

    assert child.returncode == 130, out + err
    assert "stopping after the current file" in err
    assert "Stopped:" in out
    assert "Traceback" not in err
    moved = len(list((root / "Embedding").rglob("*.safetensors")))
    assert 5 <= moved < files
    assert _snapshot(root) == before
    rows = {str(path) for (path,) in _query(data, "SELECT path FROM assets")}
    assert rows == {str(path) for path in root.resolve().rglob("*.safetensors")}
    assert _query(data, "SELECT count(*) FROM organize_operations WHERE state = 'applying'") == [(0,)]
