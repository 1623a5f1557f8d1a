"""Real files: every case written to disk (zero-filled), read back by the real reader, identified the same.

This is the end-to-end contract between ``core.formats`` and ``core.identify``: what a reader produces for a
file must identify exactly like the in-memory header the factory describes, and a zero-filled file of a
real layout (which is what every other test builds) must identify like the real thing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.formats.model_file import ModelHeader
from core.formats.reader import read_header
from core.formats.tensor_data import read_tensor
from core.identify import identify
from core.taxonomy import FileFormat, Prediction
from tests.core.identify import test_checkpoints, test_embeddings, test_loras, test_others, test_vae
from tests.core.identify.support import identify_case
from tests.factory import models
from tests.factory.models import ModelCase


def _every_case() -> dict[str, Callable[[], ModelCase]]:
    """Every single-file case of the other test tables, so each one is also checked as a real file."""
    cases: dict[str, Callable[[], ModelCase]] = {}
    for name, (build, *_) in test_checkpoints.CASES.items():
        cases[f"checkpoint {name}"] = build
    for name, (build, *_) in test_loras.KOHYA.items():
        cases[f"lora {name}"] = build
    for name, (arch, network, *_) in test_loras.NETWORKS.items():
        cases[f"lora {name}"] = partial(models.kohya_lora, arch, network)
    for name, (build, *_) in test_loras.DIALECTS.items():
        cases[f"lora {name}"] = build
    tables: list[Mapping[str, tuple[Any, ...]]] = [test_embeddings.CASES, test_vae.CASES, test_others.CASES]
    for table in tables:
        for name, (case, *_) in table.items():
            # Pickle extras (A1111 names, steps) cannot travel in a safetensors file.
            cases[name] = partial(replace, case, format=FileFormat.SAFETENSORS, extras={})
    cases["unknown"] = models.random_keys
    cases["sd2 with metadata"] = lambda: models.sd2_checkpoint().with_metadata(
        **{"modelspec.architecture": "stable-diffusion-v2-768-v", "modelspec.trigger_phrase": "a, b"}
    )
    return cases


SAFETENSORS_CASES = _every_case()


@pytest.mark.parametrize("name", SAFETENSORS_CASES)
def test_zero_filled_file_identifies_like_its_header(name: str, tmp_path: Path) -> None:
    case = SAFETENSORS_CASES[name]()
    path = models.write_case(case, tmp_path)
    from_file = identify(read_header(path))
    assert from_file == identify_case(case)


def test_sd2_probe_through_the_real_tensor_reader(tmp_path: Path) -> None:
    """The v-prediction probe reads one tensor from disk; zero-filled falls back to the same metadata."""
    metadata = {"modelspec.prediction_type": "v"}
    real = replace(
        models.sd2_checkpoint(), name="real", values={models.SD2_PROBE: models.sd2_probe_values(0.12)}
    )
    zero = replace(models.sd2_checkpoint(), name="zero")
    results = []
    for case in (real.with_metadata(**metadata), zero.with_metadata(**metadata), real, zero):
        header = read_header(models.write_case(case, tmp_path))
        results.append(identify(header, _reader(header)))
    assert [r.prediction for r in results] == [Prediction.V, Prediction.V, Prediction.V, None]
    assert (results[0].kind, results[0].architecture) == (results[1].kind, results[1].architecture)


def test_a_low_std_probe_on_disk_means_eps(tmp_path: Path) -> None:
    case = replace(models.sd2_checkpoint(), values={models.SD2_PROBE: models.sd2_probe_values(0.04)})
    header = read_header(models.write_case(case, tmp_path))
    assert identify(header, _reader(header)).prediction is Prediction.EPS


def _reader(header: ModelHeader) -> Callable[[str], np.ndarray]:
    def read(name: str) -> np.ndarray:
        return read_tensor(header, name)

    return read


# ------------------------------------------------------------------------ pickles (need torch to write)


def _tensor(shape: tuple[int, ...]) -> object:
    torch = pytest.importorskip("torch")
    return torch.zeros(shape)


def test_a1111_embedding_pt(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    case = models.a1111_embedding(1024, 5)
    data = {
        "string_to_token": {"*": 265},
        "string_to_param": {"*": _tensor((5, 1024))},
        **{key: value for key, value in case.extras.items() if key != "string_to_token"},
    }
    torch.save(data, tmp_path / "emb.pt")
    from_file = identify(read_header(tmp_path / "emb.pt"))
    assert from_file == identify_case(case)


def test_hypernetwork_pt(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    case = models.hypernetwork((320, 768))
    data: dict[object, object] = {}
    data.update(case.extras)
    for width in (320, 768):
        pair = []
        for side in (0, 1):
            prefix = f"{width}.{side}."
            pair.append(
                {
                    name[len(prefix) :]: _tensor(spec[1])
                    for name, spec in case.specs.items()
                    if name.startswith(prefix)
                }
            )
        data[width] = pair
    torch.save(data, tmp_path / "hn.pt")
    from_file = identify(read_header(tmp_path / "hn.pt"))
    assert from_file == identify_case(case)


def test_sd2_ckpt_global_step_from_a_lightning_file(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    probe = models.SD2_PROBE
    state = {probe: torch.from_numpy(np.zeros(320, dtype=np.float32))}
    state["model.diffusion_model.input_blocks.0.0.weight"] = _tensor((320, 4, 3, 3))
    state["model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"] = _tensor(
        (320, 1024)
    )
    torch.save({"state_dict": state, "global_step": 110000}, tmp_path / "v2.ckpt")
    result = identify(read_header(tmp_path / "v2.ckpt"))
    assert result.prediction is Prediction.V
    assert result.format is FileFormat.CKPT
