"""The first-start offer says how many model files each install holds, so a user recognises it.

The outside tester saw ~/stable-diffusion-webui listed without a count, although the folder search
counts the model files as it goes. Driven here through the app's own services (``desktop.launch``) on
a real A1111 install built in a temporary home, with the real first-start dialog of the window.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.context import AppContext
from app.secrets import TokenStore
from desktop.dialogs.first_start_dialog import count_text
from desktop.launch import build_services
from desktop.main_window import MainWindow
from tests.factory.models import kohya_lora, write_case


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppContext]:
    for name in ("ATELIER_CIVITAI_TOKEN", "HF_TOKEN", "HF_ENDPOINT", "ATELIER_CIVITAI_URL"):
        monkeypatch.delenv(name, raising=False)
    made = AppContext(tmp_path / "profile", tokens=TokenStore(tmp_path / "profile", use_keyring=False))
    yield made
    made.close()


def test_the_offer_lists_each_install_with_its_model_files(
    context: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    home = tmp_path / "home"
    webui = home / "stable-diffusion-webui"
    (webui / "webui.py").parent.mkdir(parents=True)
    (webui / "webui.py").write_text("# A1111\n")
    for rank in (1, 2, 3):
        write_case(kohya_lora("sd1", rank=rank), webui / "models" / "Lora" / f"lora{rank}")
    (webui / "models" / "Stable-diffusion").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(Path, "home", classmethod(lambda _cls: home))
    window = MainWindow(build_services(context))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.start_background_work()
    dialog = window.first_start_dialog
    assert dialog is not None
    texts = [dialog.folders.item(row).text() for row in range(dialog.folders.count())]
    assert len(texts) == 1
    assert str(webui) in texts[0]
    assert texts[0].endswith("3 model files")
    dialog.reject()
    window.close()


def test_a_count_cut_short_says_so() -> None:
    assert count_text(1000, complete=False) == "1000+ model files"
    assert count_text(1, complete=True) == "1 model file"
