from __future__ import annotations

import pickle
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from picklescan.scanner import ScanResult

from core.formats import pickle_reader, pickle_stream, restricted_unpickler
from core.formats.model_file import CorruptFileError, UnsafeFileError
from core.formats.pickle_reader import read_pickle_header
from core.formats.restricted_unpickler import restricted_loads
from core.taxonomy import FileFormat
from tests.factory.files import (
    PLAIN_VECTORS,
    big_zeros,
    save_torch,
    write_a1111_embedding,
    write_a1111_hypernetwork,
    write_importlib_pickle,
    write_learned_embeds_bin,
    write_lightning_checkpoint,
    write_malicious_pickle,
    write_malicious_torch,
    write_zip_with_hidden_pickle,
)
from tests.factory.keyspaces import keyspace

A1111_EXTRAS = {
    "string_to_token": {"*": 265},
    "name": "my-style",
    "step": 1500,
    "sd_checkpoint": "7460a6fa",
    "sd_checkpoint_name": "v1-5-pruned-emaonly",
}


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("parameter_dict", [False, True], ids=["dict", "ParameterDict"])
def test_a1111_embedding(tmp_path: Path, legacy: bool, parameter_dict: bool) -> None:
    path = write_a1111_embedding(tmp_path / "my-style.pt", legacy=legacy, parameter_dict=parameter_dict)

    header = read_pickle_header(path)

    assert header.format is FileFormat.PT
    assert header.size == path.stat().st_size
    assert {name: (t.dtype, t.shape) for name, t in header.tensors.items()} == {
        "string_to_param.*": ("F32", (2, 768))
    }
    assert header.tensors["string_to_param.*"].nbytes == 2 * 768 * 4
    assert header.data_offset("string_to_param.*") is None
    assert dict(header.extras) == A1111_EXTRAS


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_a1111_hypernetwork(tmp_path: Path, legacy: bool) -> None:
    path = write_a1111_hypernetwork(tmp_path / "anime.pt", legacy=legacy)

    header = read_pickle_header(path)

    assert len(header.tensors) == 4 * 2 * 4
    assert header.tensors["768.0.linear.0.weight"].shape == (1536, 768)
    assert header.tensors["768.1.linear.2.bias"].shape == (768,)
    assert header.tensors["1280.1.linear.2.weight"].shape == (1280, 2560)
    assert header.extras["layer_structure"] == [1, 2, 1]
    assert header.extras["activation_func"] == "relu"
    assert header.extras["is_layer_norm"] is False
    assert header.extras["activate_output"] is False
    assert header.extras["sd_checkpoint_name"] == "v1-5-pruned-emaonly"


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_lightning_checkpoint_is_unwrapped(tmp_path: Path, legacy: bool) -> None:
    specs = {
        "model.diffusion_model.input_blocks.0.0.weight": ("F16", (320, 4, 3, 3)),
        "first_stage_model.decoder.conv_in.weight": ("F32", (512, 4, 3, 3)),
        "cond_stage_model.transformer.text_model.embeddings.position_ids": ("I64", (1, 77)),
        "model_ema.decay": ("F32", ()),
    }
    path = write_lightning_checkpoint(tmp_path / "sd.ckpt", specs, legacy=legacy)

    header = read_pickle_header(path)

    assert header.format is FileFormat.CKPT
    assert {name: (t.dtype, t.shape) for name, t in header.tensors.items()} == specs
    assert header.extras["global_step"] == 220000
    assert header.extras["epoch"] == 3
    assert header.extras["callbacks"] == {
        "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint": {
            "monitor": None,
            "best_model_score": None,
            "best_model_path": "",
        }
    }
    assert "state_dict" not in header.extras


def _bytes_read() -> int:
    """Bytes this process has read through system calls (Linux's /proc/self/io ``rchar``)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("/proc/self/io has no rchar line")


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="counts reads through Linux's /proc/self/io")
def test_real_size_sd1_ckpt(tmp_path: Path) -> None:
    specs = keyspace("sd1-ldm", dtype="F16")
    path = write_lightning_checkpoint(tmp_path / "v1-5.ckpt", specs, global_step=840000)

    read_before = _bytes_read()
    header = read_pickle_header(path)
    read = _bytes_read() - read_before

    assert len(header.tensors) == 1130
    key = "model.diffusion_model.input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight"
    assert header.tensors[key].shape == (320, 768)
    assert header.extras["global_step"] == 840000
    # The pickle's bytes, not the 1.7 GB of tensor data behind it (counted by the kernel, not timed).
    assert read < 16 * 1024 * 1024, (
        f"{read:,} bytes read for the header of a {path.stat().st_size:,}-byte file"
    )


def test_legacy_pickle_larger_than_the_first_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pickle_reader, "_FIRST_READ", 256)
    path = write_a1111_hypernetwork(tmp_path / "hn.pt", legacy=True)

    assert len(read_pickle_header(path).tensors) == 32


def test_diffusers_learned_embeds_bin(tmp_path: Path) -> None:
    header = read_pickle_header(write_learned_embeds_bin(tmp_path / "learned_embeds.bin"))

    assert header.format is FileFormat.BIN
    assert {name: (t.dtype, t.shape) for name, t in header.tensors.items()} == {"<cat-toy>": ("F32", (768,))}


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_every_dtype_maps_to_its_safetensors_name(tmp_path: Path, legacy: bool) -> None:
    dtypes = {
        "F64": torch.float64,
        "F32": torch.float32,
        "F16": torch.float16,
        "BF16": torch.bfloat16,
        "I64": torch.int64,
        "I32": torch.int32,
        "I16": torch.int16,
        "I8": torch.int8,
        "U8": torch.uint8,
        "BOOL": torch.bool,
    }
    if not legacy:  # the legacy format cannot store the new dtypes
        dtypes |= {"F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2, "U16": torch.uint16}
    path = save_torch(
        tmp_path / "d.pt", {name: torch.zeros(2, 3, dtype=dt) for name, dt in dtypes.items()}, legacy=legacy
    )

    header = read_pickle_header(path)

    assert {name: t.dtype for name, t in header.tensors.items()} == {name: name for name in dtypes}
    assert header.tensors["BF16"].nbytes == 12


def test_format_follows_the_extension(tmp_path: Path) -> None:
    for suffix, expected in [(".ckpt", FileFormat.CKPT), (".pth", FileFormat.PT), (".bin", FileFormat.BIN)]:
        path = save_torch(tmp_path / f"m{suffix}", {"w": torch.zeros(1)})
        assert read_pickle_header(path).format is expected


def test_numpy_values_become_tensors_and_plain_extras(tmp_path: Path) -> None:
    path = save_torch(
        tmp_path / "np.pt",
        {
            "w": np.zeros((3, 4), dtype=np.float16),
            "loss": np.float64(0.5),
            "ids": np.arange(3),
            "t": torch.zeros(2),
        },
    )

    header = read_pickle_header(path)

    assert header.tensors["w"].dtype == "F16"
    assert header.tensors["w"].shape == (3, 4)
    assert header.tensors["ids"].dtype == "I64"
    assert header.extras["loss"] == 0.5


def test_nested_non_tensor_values_inside_a_tensor_dict_go_to_extras(tmp_path: Path) -> None:
    path = save_torch(
        tmp_path / "sdxl-emb.pt",
        {"emb": {"clip_l": torch.zeros(1, 768), "note": "x"}, "dtype": torch.float16},
    )

    header = read_pickle_header(path)

    assert set(header.tensors) == {"emb.clip_l"}
    assert header.extras == {"emb.note": "x", "dtype": "torch.float16"}


# ---- corrupt files ----------------------------------------------------------------------------


def test_truncated_zip_is_corrupt(tmp_path: Path) -> None:
    path = write_a1111_embedding(tmp_path / "cut.pt")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    with pytest.raises(CorruptFileError, match="zip"):
        read_pickle_header(path)


def test_truncated_legacy_pickle_is_corrupt(tmp_path: Path) -> None:
    path = write_a1111_embedding(tmp_path / "cut.pt", legacy=True)
    path.write_bytes(path.read_bytes()[:200])

    with pytest.raises(CorruptFileError, match="truncated or damaged"):
        read_pickle_header(path)


def test_garbage_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "junk.ckpt"
    path.write_bytes(b"\x00garbage" * 100)

    with pytest.raises(CorruptFileError, match="neither a zip archive nor a pickle"):
        read_pickle_header(path)


def test_empty_file_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")

    with pytest.raises(CorruptFileError, match="empty"):
        read_pickle_header(path)


def test_zip_without_data_pkl_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "other.ckpt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")

    with pytest.raises(CorruptFileError, match=r"no data\.pkl"):
        read_pickle_header(path)


def test_oversized_data_pkl_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pickle_reader, "MAX_PICKLE_BYTES", 64)
    path = write_a1111_embedding(tmp_path / "e.pt")

    with pytest.raises(CorruptFileError, match=r"data\.pkl is"):
        read_pickle_header(path)


def test_too_many_opcodes_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pickle_stream, "MAX_OPCODES", 20)
    path = write_a1111_embedding(tmp_path / "e.pt")

    with pytest.raises(CorruptFileError, match="operations"):
        read_pickle_header(path)


def test_too_many_tensors_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(restricted_unpickler, "MAX_TENSORS", 10)
    path = save_torch(tmp_path / "many.pt", {f"t{i}": torch.zeros(1) for i in range(11)})

    with pytest.raises(CorruptFileError, match="more than 10 tensors"):
        read_pickle_header(path)


def test_shared_objects_cannot_explode_the_walk(tmp_path: Path) -> None:
    node: object = [torch.zeros(1)]
    for _ in range(40):  # 2**40 paths through a 40-object pickle
        node = [node, node]
    path = save_torch(tmp_path / "laughs.pt", {"bomb": node})

    started = time.perf_counter()
    with pytest.raises(UnsafeFileError, match=r"more than .* objects .*\(resource exhaustion\)"):
        read_pickle_header(path)
    assert time.perf_counter() - started < 5


def test_a_bare_tensor_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = save_torch(tmp_path / "t.pt", torch.zeros(3))

    with pytest.raises(CorruptFileError, match="single F32 tensor"):
        read_pickle_header(path)


# ---- hostile files: the marker must never appear -----------------------------------------------


@pytest.mark.parametrize("suffix", [".pt", ".bin", ".ckpt"])
@pytest.mark.parametrize("vector", sorted(PLAIN_VECTORS))
def test_malicious_pickles_are_unsafe_and_never_run(tmp_path: Path, vector: str, suffix: str) -> None:
    marker = tmp_path / "MARKER"
    path = write_malicious_pickle(tmp_path / f"evil{suffix}", marker, vector)

    with pytest.raises(UnsafeFileError) as caught:
        read_pickle_header(path)

    assert PLAIN_VECTORS[vector] in caught.value.offending_globals
    assert PLAIN_VECTORS[vector] in caught.value.reason
    assert not marker.exists()


@pytest.mark.parametrize("vector", sorted(PLAIN_VECTORS))
def test_the_malicious_fixtures_are_armed(tmp_path: Path, vector: str) -> None:
    """Positive control: plain pickle.loads of the same bytes does run the payload."""
    marker = tmp_path / "CONTROL"
    path = write_malicious_pickle(tmp_path / "evil.pt", marker, vector)

    pickle.loads(path.read_bytes())  # deliberately unsafe, on our own fixture

    assert marker.exists()


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_payload_inside_a_real_torch_checkpoint(tmp_path: Path, legacy: bool) -> None:
    marker = tmp_path / "MARKER"
    path = write_malicious_torch(tmp_path / "evil.ckpt", marker, legacy=legacy)

    with pytest.raises(UnsafeFileError) as caught:
        read_pickle_header(path)

    assert "builtins.exec" in caught.value.offending_globals
    assert not marker.exists()


def test_the_torch_fixture_is_armed(tmp_path: Path) -> None:
    marker = tmp_path / "CONTROL"
    path = write_malicious_torch(tmp_path / "evil.ckpt", marker)

    torch.load(path, weights_only=False)

    assert marker.exists()


def test_pickle_hidden_beside_data_pkl_is_unsafe(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    path = write_zip_with_hidden_pickle(tmp_path / "evil.pt", marker)

    with pytest.raises(UnsafeFileError) as caught:
        read_pickle_header(path)

    assert PLAIN_VECTORS["os.system"] in caught.value.offending_globals
    assert not marker.exists()


def test_globals_outside_the_allow_list_are_unsafe_even_if_picklescan_shrugs(tmp_path: Path) -> None:
    path = write_importlib_pickle(tmp_path / "sneaky.pt")

    with pytest.raises(UnsafeFileError) as caught:
        read_pickle_header(path)

    assert caught.value.offending_globals == ("importlib.import_module",)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_restricted_unpickler_holds_when_the_scanner_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, legacy: bool
) -> None:
    """Defence in depth: with picklescan blinded, the allow-list alone still refuses the payload."""
    monkeypatch.setattr(pickle_stream, "scan_pickle_bytes", lambda *args, **kwargs: ScanResult([]))
    marker = tmp_path / "MARKER"
    path = write_malicious_torch(tmp_path / "evil.ckpt", marker, legacy=legacy)

    with pytest.raises(UnsafeFileError) as caught:
        read_pickle_header(path)

    assert caught.value.offending_globals == ("builtins.exec",)
    assert not marker.exists()


@pytest.mark.parametrize("vector", sorted(PLAIN_VECTORS))
def test_restricted_loads_refuses_every_vector(tmp_path: Path, vector: str) -> None:
    marker = tmp_path / "MARKER"
    data = write_malicious_pickle(tmp_path / "evil.pt", marker, vector).read_bytes()

    with pytest.raises(UnsafeFileError):
        restricted_loads(data)

    assert not marker.exists()


def test_codecs_encode_only_accepts_text_codecs() -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, ...]:
            import _codecs

            return _codecs.encode, ("x" * 10, "zlib_codec")

    with pytest.raises(UnsafeFileError, match="zlib_codec"):
        restricted_loads(pickle.dumps(Evil(), protocol=2))


def test_numpy_ndarray_cannot_be_called_to_allocate() -> None:
    class Alloc:
        def __reduce__(self) -> tuple[object, ...]:
            return np.ndarray, ((10**12,),)

    with pytest.raises(CorruptFileError):
        restricted_loads(pickle.dumps(Alloc(), protocol=2))


def test_legacy_torch_file_does_not_need_its_storages(tmp_path: Path) -> None:
    """Storages follow the pickles in the legacy format; a file cut right after them still reads."""
    path = save_torch(tmp_path / "e.pt", {"w": big_zeros((4096, 4096))}, legacy=True)
    data = path.read_bytes()
    path.write_bytes(data[:-2])  # damage only the storage bytes

    assert read_pickle_header(path).tensors["w"].shape == (4096, 4096)


def test_far_away_memo_slot_is_refused_before_unpickling(tmp_path: Path) -> None:
    """``LONG_BINPUT 2**31`` would make the C unpickler allocate and zero a 16 GiB memo table."""
    path = tmp_path / "memo.pt"
    path.write_bytes(b"\x80\x02}r\x00\x00\x00\x80.")

    with pytest.raises(CorruptFileError, match="memo slot"):
        read_pickle_header(path)
