"""The renderer's one door to tensor files: safetensors, and torch pickles that never run code."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from core.render import tensor_files
from core.render.tensor_files import (
    UnreadableTensorFileError,
    UnsafePickleError,
    load_pickle,
    own_cpu_weights,
    read_safetensors,
)
from tests.factory.files import write_malicious_torch
from tests.factory.mapped_files import mapped_among


def test_safetensors_tensors_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "x.safetensors"
    save_file({"a": torch.arange(4.0)}, str(path), metadata={"ss_output_name": "detail"})
    tensors, metadata = read_safetensors(path)
    assert torch.equal(tensors["a"], torch.arange(4.0))
    assert metadata == {"ss_output_name": "detail"}
    (tmp_path / "bad.safetensors").write_bytes(b"\x01" * 16)
    with pytest.raises(UnreadableTensorFileError):
        read_safetensors(tmp_path / "bad.safetensors")


def test_plain_pickles_load_and_allowed_classes_too(tmp_path: Path) -> None:
    torch.save({"w": torch.ones(2), "step": 3}, str(tmp_path / "ok.pt"))
    assert load_pickle(tmp_path / "ok.pt")["step"] == 3
    torch.save(torch.nn.ParameterDict({"*": torch.nn.Parameter(torch.ones(2))}), str(tmp_path / "pd.pt"))
    with pytest.raises(UnsafePickleError):
        load_pickle(tmp_path / "pd.pt")
    loaded = load_pickle(tmp_path / "pd.pt", allowed=[torch.nn.ParameterDict])
    assert torch.equal(loaded["*"].data, torch.ones(2))


def test_code_in_a_pickle_is_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write_malicious_torch(tmp_path / "evil.pt", marker)
    with pytest.raises(UnsafePickleError) as caught:
        load_pickle(path)
    assert caught.value.global_name is not None
    assert caught.value.global_name.endswith("exec")
    assert not marker.exists()


def test_garbage_is_unreadable_and_a_missing_path_stays_an_os_error(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UnreadableTensorFileError):
        load_pickle(tmp_path / "junk.pt")
    with pytest.raises(OSError):
        load_pickle(tmp_path / "absent.pt")


@pytest.mark.parametrize("on_windows", [True, False])
def test_safetensors_are_read_into_memory_on_windows_and_left_mapped_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_windows: bool
) -> None:
    # Windows cannot move or delete a file while a tensor is mapped from it; elsewhere the mapping is
    # page cache the system may drop, where copies would be private memory.
    monkeypatch.setattr(tensor_files, "MAPPED_FILES_ARE_LOCKED", on_windows)
    path = tmp_path / "lora.safetensors"
    save_file({"a": torch.arange(4096.0), "b": torch.ones(64, 64)}, str(path))
    tensors, _ = read_safetensors(path)
    assert mapped_among([path]) == ([] if on_windows else [path.resolve()])
    assert torch.equal(tensors["b"], torch.ones(64, 64))


def _mapped_module(path: Path) -> torch.nn.Module:
    """A module whose weights are mapped from ``path``, as diffusers leaves a loaded checkpoint."""
    from safetensors.torch import load_file

    save_file({"weight": torch.randn(8, 16), "bias": torch.randn(8)}, str(path))
    module = torch.nn.Linear(16, 8)
    module.load_state_dict(load_file(str(path)), assign=True)
    assert mapped_among([path]) == [path.resolve()]
    return module


def test_on_windows_model_weights_left_on_the_cpu_are_copied_out_of_their_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tensor_files, "MAPPED_FILES_ARE_LOCKED", True)
    module = _mapped_module(tmp_path / "checkpoint.safetensors")
    weight, expected = module.weight, module.weight.detach().clone()
    own_cpu_weights([module, "a tokenizer", None])
    assert mapped_among([tmp_path / "checkpoint.safetensors"]) == []
    assert module.weight is weight  # the same Parameter (hooks and tied weights keep pointing at it)
    assert torch.equal(module.weight.detach(), expected)


def test_elsewhere_loaded_weights_are_not_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tensor_files, "MAPPED_FILES_ARE_LOCKED", False)
    module = _mapped_module(tmp_path / "checkpoint.safetensors")
    pointer = module.weight.data_ptr()
    own_cpu_weights([module])
    assert module.weight.data_ptr() == pointer
