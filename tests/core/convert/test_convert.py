"""Converting real ``torch.save`` files (zip and legacy) to safetensors, checked against torch itself."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest
import safetensors.torch
import torch

from core.convert.convert import PART_SUFFIX, convert_to_safetensors, safetensors_target
from core.convert.errors import ConvertError
from core.convert.safetensors_out import verify_safetensors, write_safetensors
from core.convert.selection import OutputTensor
from core.jobs import CancelledError, CancelToken, Progress
from core.taxonomy import AssetKind
from tests.core.test_no_overwrite import windows_on_fat
from tests.factory.files import (
    save_torch,
    write_a1111_embedding,
    write_a1111_hypernetwork,
    write_malicious_torch,
)

__all__ = ["windows_on_fat"]  # the fixture, shared with the Windows move tests


def _state_dict() -> OrderedDict[str, torch.Tensor]:
    """Every way a real checkpoint lays tensors out: dtypes, views of one storage, expanded rows."""
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(6, 4, generator=generator)
    return OrderedDict(
        [
            ("model.diffusion_model.in.weight", base),
            ("model.diffusion_model.in_t.weight", base.t()),  # shares base's storage, transposed
            ("model.diffusion_model.tail.weight", base[2:]),  # shares it at an offset
            ("model.diffusion_model.half.weight", torch.randn(3, 5, generator=generator).half()),
            ("model.diffusion_model.bf.weight", torch.randn(7, generator=generator).to(torch.bfloat16)),
            ("model.diffusion_model.wide.weight", torch.randn(2, 2, generator=generator).double()),
            ("model.diffusion_model.zeros.bias", torch.zeros(1).expand(8)),  # stride 0
            ("cond_stage_model.transformer.position_ids", torch.arange(77).unsqueeze(0)),
            ("model_ema.decay", torch.tensor(0.9999)),
            ("model_ema.num_updates", torch.tensor(1234, dtype=torch.int32)),
            ("model_ema.diffusion_modelinweight", base * 2),
        ]
    )


def _checkpoint(path: Path, *, legacy: bool = False) -> Path:
    return save_torch(
        path,
        {"state_dict": _state_dict(), "epoch": 3, "global_step": 220000, "optimizer_states": [{"lr": 1e-4}]},
        legacy=legacy,
    )


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_every_tensor_arrives_unchanged(tmp_path: Path, legacy: bool) -> None:
    source = _checkpoint(tmp_path / "model.ckpt", legacy=legacy)
    reports: list[Progress] = []
    result = convert_to_safetensors(source, progress=reports.append)

    assert result.target == tmp_path / "model.safetensors"
    written = safetensors.torch.load_file(result.target)
    expected = _state_dict()
    assert set(written) == set(expected)
    for name, tensor in expected.items():
        assert written[name].dtype == tensor.dtype, name
        assert torch.equal(written[name], tensor.contiguous()), name
    assert source.exists()
    assert not (tmp_path / ("model.safetensors" + PART_SUFFIX)).exists()
    assert reports[-1].message == "Verifying model.safetensors"


def test_the_checkpoints_plain_values_become_metadata(tmp_path: Path) -> None:
    result = convert_to_safetensors(_checkpoint(tmp_path / "model.ckpt"))
    with safetensors.safe_open(str(result.target), framework="numpy") as reader:
        metadata = reader.metadata()
    assert metadata["epoch"] == "3"
    assert metadata["global_step"] == "220000"
    assert not any(key.startswith("optimizer") for key in metadata)


def test_fp16_narrows_floats_and_keeps_integers(tmp_path: Path) -> None:
    result = convert_to_safetensors(_checkpoint(tmp_path / "model.ckpt"), fp16=True)
    written = safetensors.torch.load_file(result.target)
    for name, tensor in _state_dict().items():
        if tensor.is_floating_point():
            assert written[name].dtype == torch.float16, name
            assert torch.equal(written[name], tensor.float().half()), name
        else:
            assert torch.equal(written[name], tensor), name
    assert result.fp16


def test_fp16_refuses_a_value_float16_cannot_hold(tmp_path: Path) -> None:
    source = save_torch(tmp_path / "big.pt", {"w": torch.tensor([1.0, 1e6]), "b": torch.zeros(2)})
    with pytest.raises(ConvertError, match=r"tensor 'w' holds 1e\+06, beyond float16"):
        convert_to_safetensors(source, fp16=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.pt"]


def test_prune_drops_ema_weights(tmp_path: Path) -> None:
    result = convert_to_safetensors(_checkpoint(tmp_path / "model.ckpt"), prune=True)
    written = safetensors.torch.load_file(result.target)
    assert not any(name.startswith("model_ema.") for name in written)
    assert "model.diffusion_model.in.weight" in written
    assert len(result.pruned) == 3


def test_prune_refuses_to_empty_an_ema_only_file(tmp_path: Path) -> None:
    source = save_torch(tmp_path / "ema.ckpt", {"state_dict": {"model_ema.decay": torch.tensor(0.9)}})
    with pytest.raises(ConvertError, match="only EMA"):
        convert_to_safetensors(source, prune=True)


def test_an_unsafe_pickle_is_refused_with_the_scanners_reason(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    source = write_malicious_torch(tmp_path / "evil.ckpt", marker)
    with pytest.raises(ConvertError, match=r"evil\.ckpt was not converted: .*builtins\.exec"):
        convert_to_safetensors(source)
    assert not marker.exists()
    assert not safetensors_target(source).exists()


def test_an_a1111_embedding_becomes_emb_params(tmp_path: Path) -> None:
    source = write_a1111_embedding(tmp_path / "style.pt", dim=768, vectors=3, name="my-style")
    result = convert_to_safetensors(source)
    written = safetensors.torch.load_file(result.target)
    assert list(written) == ["emb_params"]
    assert written["emb_params"].shape == (3, 768)
    with safetensors.safe_open(str(result.target), framework="numpy") as reader:
        assert reader.metadata()["name"] == "my-style"
    assert result.layout == "embedding"


def test_a_hypernetwork_is_refused_with_the_reason(tmp_path: Path) -> None:
    source = write_a1111_hypernetwork(tmp_path / "hn.pt", dims=(320,))
    with pytest.raises(ConvertError, match=r"hypernetworks stay \.pt"):
        convert_to_safetensors(source, kind=AssetKind.HYPERNETWORK)


def test_an_existing_target_is_never_replaced(tmp_path: Path) -> None:
    source = _checkpoint(tmp_path / "model.ckpt")
    (tmp_path / "model.safetensors").write_bytes(b"mine")
    with pytest.raises(ConvertError, match="already exists"):
        convert_to_safetensors(source)
    assert (tmp_path / "model.safetensors").read_bytes() == b"mine"


@pytest.mark.usefixtures("windows_on_fat")
def test_on_windows_a_drive_without_hard_links_gets_its_converted_file(tmp_path: Path) -> None:
    source = _checkpoint(tmp_path / "model.ckpt")

    result = convert_to_safetensors(source)

    assert set(safetensors.torch.load_file(result.target)) == set(_state_dict())
    assert not (tmp_path / ("model.safetensors" + PART_SUFFIX)).exists()


def test_cancel_leaves_no_partial_file(tmp_path: Path) -> None:
    source = _checkpoint(tmp_path / "model.ckpt")
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        convert_to_safetensors(source, cancel=token)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ckpt"]


def test_read_back_catches_a_changed_byte(tmp_path: Path) -> None:
    tensors = [OutputTensor(name="w", source="w", source_dtype="F32", dtype="F32", shape=(4,))]
    path = tmp_path / "w.safetensors"
    digests = write_safetensors(path, tensors, {"a": "b"}, lambda _t: bytes(range(16)))
    verify_safetensors(path, tensors, {"a": "b"}, digests)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ConvertError, match="reads back different"):
        verify_safetensors(path, tensors, {"a": "b"}, digests)
    with pytest.raises(ConvertError, match="metadata differs"):
        verify_safetensors(path, tensors, {"a": "c"}, digests)


def test_a_name_at_the_file_systems_limit_converts(tmp_path: Path) -> None:
    # "<252-byte name>.safetensors.atelier-part" would pass the 255-byte limit: the partial file gets a
    # shortened name and the result still lands under the full name.
    stem = "é" * 60 + "x" * (252 - len(".safetensors") - 120)
    source = _checkpoint(tmp_path / f"{stem}.ckpt")
    result = convert_to_safetensors(source)

    assert result.target.name == f"{stem}.safetensors"
    assert len(result.target.name.encode()) == 252
    assert set(safetensors.torch.load_file(result.target)) == set(_state_dict())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([source.name, result.target.name])
