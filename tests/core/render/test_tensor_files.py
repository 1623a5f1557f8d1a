"""The renderer's one door to tensor files: safetensors, and torch pickles that never run code."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from core.render.tensor_files import (
    UnreadableTensorFileError,
    UnsafePickleError,
    load_pickle,
    read_safetensors,
)
from tests.factory.files import write_malicious_torch


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
