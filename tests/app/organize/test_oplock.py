"""The library's operation lock excludes another process (the window while the CLI starts) on every
platform: recovery run by a second process leaves an operation alone while its process holds the lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from app.organize.oplock import lock_path, operation_lock
from tests.app.main_process import ROOT

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from app.organize.oplock import operation_lock
    with operation_lock(Path(sys.argv[1]), blocking=False) as held:
        print("held" if held else "busy", flush=True)
        time.sleep(60)
    """
)


def test_an_operation_in_another_process_is_not_run_over(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(catalog)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        with operation_lock(catalog, blocking=False) as held:
            assert held is False
        child.kill()
        child.wait(10)
        with operation_lock(catalog, blocking=False) as held:
            assert held is True
    finally:
        child.kill()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    assert lock_path(catalog).exists()


def test_a_second_holder_in_this_process_waits_and_is_told(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.sqlite3"
    waits: list[str] = []
    with operation_lock(catalog) as first:
        assert first is True
        with operation_lock(catalog, blocking=False) as second:
            assert second is False
    with operation_lock(catalog, on_wait=lambda: waits.append("waited")) as third:
        assert third is True
    assert waits == []  # free: taken at once, nobody told to wait
