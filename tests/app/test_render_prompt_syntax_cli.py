"""A1111 prompt syntax through the CLI's ``render`` as a user types it, on the tiny SD1 checkpoint.

The outside tester's repro: ``(a red fox:1.0)`` must render the very image ``a red fox`` does (as in
A1111), a real weight must change it, and what is not honoured (A1111's AND) is said in the plan.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from catalog.library import Library
from core.taxonomy import Architecture, AssetKind, LibraryLayout
from tests.app.in_process import run_in_process as run_main
from tests.app.test_render_service import CHECKPOINT_HASHES, catalog_file, shared_tiny_sd1

pytestmark = pytest.mark.slow  # real renders of the tiny checkpoint (through the CLI's entry, in process)

ENV = {"HF_HUB_OFFLINE": "1"}
QUICK = ["--checkpoint", "tiny-sd1", "--steps", "2", "--size", "64x64", "--seed", "5", "--sampler", "Euler"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    checkpoint = shared_tiny_sd1(tmp_path_factory)
    folder = tmp_path_factory.mktemp("data")
    with Library.open(folder / "catalog.sqlite3") as library:
        root = library.add_root(checkpoint.parent, LibraryLayout.FLAT)
        asset_id = catalog_file(library, root.id, checkpoint, AssetKind.CHECKPOINT, Architecture.SD1, inode=1)
        library.set_hashes(asset_id, CHECKPOINT_HASHES)
    return folder


def _render(data_dir: Path, out: Path, prompt: str) -> bytes:
    result = run_main("render", *QUICK, "--prompt", prompt, "--out", str(out), "--json",
                      data_dir=data_dir, env=ENV)  # fmt: skip
    assert result.returncode == 0, result.stderr
    with Image.open(json.loads(result.stdout)["path"]) as image:
        return image.tobytes()


def test_weight_one_renders_the_plain_prompt_and_a_weight_changes_it(data_dir: Path, tmp_path: Path) -> None:
    plain = _render(data_dir, tmp_path / "plain.png", "a red fox")
    assert _render(data_dir, tmp_path / "one.png", "(a red fox:1.0)") == plain
    assert _render(data_dir, tmp_path / "weighted.png", "a (red:1.4) fox") != plain


def test_the_plan_names_syntax_that_is_not_applied(data_dir: Path) -> None:
    result = run_main("render", *QUICK, "--prompt", "a red fox AND a grey wolf", "--plan", "--json",
                      data_dir=data_dir, env=ENV)  # fmt: skip
    assert result.returncode == 0, result.stderr
    warnings = json.loads(result.stdout)["warnings"]
    assert any("AND" in line and "not applied" in line for line in warnings), warnings
