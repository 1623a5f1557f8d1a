"""A per-test system trash for tests that delete files (the app's deletes go to the trash via send2trash).

send2trash reads ``XDG_DATA_HOME`` once, when it is first imported, so setting the variable in a test is
not enough once another test has trashed something in the same process: the module's constants are set
too. (``tests/conftest.py`` already points the whole test process away from the user's own trash.)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


def own_trash(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
    """Make ``folder`` the data home whose ``Trash`` send2trash uses; returns the trash folder."""
    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    import send2trash.plat_other as plat

    monkeypatch.setattr(plat, "XDG_DATA_HOME", os.fsencode(folder))
    monkeypatch.setattr(plat, "HOMETRASH_B", os.fsencode(folder / "Trash"))
    monkeypatch.setattr(plat, "HOMETRASH", str(folder / "Trash"))
    assert "send2trash" in sys.modules
    return folder / "Trash"
