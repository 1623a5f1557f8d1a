from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from core.formats.diffusers_folder import is_diffusers_folder, read_diffusers_folder
from core.formats.model_file import CorruptFileError, UnreadableFileError, UnsafeFileError
from core.formats.reader import read_header
from core.taxonomy import FileFormat
from tests.factory.files import (
    write_diffusers_pipeline,
    write_diffusers_vae,
    write_learned_embeds_bin,
    write_malicious_pickle,
    write_malicious_torch,
)


def _total_size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def test_sd1_pipeline(tmp_path: Path) -> None:
    root = write_diffusers_pipeline(tmp_path / "stable-diffusion-v1-5")

    header = read_diffusers_folder(root)

    assert is_diffusers_folder(root)
    assert header.format is FileFormat.DIFFUSERS
    assert header.path == root
    info = header.diffusers
    assert info is not None
    assert info.model_index["_class_name"] == "StableDiffusionPipeline"
    # safety_checker is [null, null]: absent, so it has no config.
    assert set(info.configs) == {"unet", "vae", "text_encoder", "tokenizer", "scheduler", "feature_extractor"}
    assert info.configs["unet"]["cross_attention_dim"] == 768
    assert info.configs["vae"]["scaling_factor"] == 0.18215
    assert info.configs["scheduler"]["prediction_type"] == "epsilon"
    assert info.weight_files == (
        "text_encoder/model.safetensors",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
    )
    assert header.size == _total_size(root)
    assert header.tensors == {}


def test_sdxl_pipeline_with_fp16_variant(tmp_path: Path) -> None:
    root = write_diffusers_pipeline(tmp_path / "sdxl", "sdxl", fp16_variant=True)

    info = read_diffusers_folder(root).diffusers

    assert info is not None
    assert info.model_index["_class_name"] == "StableDiffusionXLPipeline"
    assert info.configs["unet"]["cross_attention_dim"] == 2048
    assert info.configs["unet"]["projection_class_embeddings_input_dim"] == 2816
    assert {"text_encoder_2", "tokenizer_2"} <= set(info.configs)
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in info.weight_files


@pytest.mark.parametrize("fp16_variant", [False, True])
def test_bare_vae_folder_reads_its_config_and_tensors(tmp_path: Path, fp16_variant: bool) -> None:
    root = write_diffusers_vae(tmp_path / "sdxl-vae", sdxl=True, fp16_variant=fp16_variant)

    header = read_diffusers_folder(root)

    assert is_diffusers_folder(root)
    assert header.diffusers is not None
    assert header.diffusers.model_index == {}
    assert header.diffusers.configs[""]["scaling_factor"] == 0.13025
    weights = header.tensors["decoder.conv_in.weight"]
    assert weights.shape == (512, 4, 3, 3)
    assert header.data_offset("decoder.conv_in.weight") is not None


def test_symlinked_weights_count_toward_the_size(tmp_path: Path) -> None:
    """The Hugging Face cache keeps snapshot files as symlinks into a blob store."""
    blobs = write_diffusers_vae(tmp_path / "blobs")
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    for name in ("config.json", "diffusion_pytorch_model.safetensors"):
        (snapshot / name).symlink_to(blobs / name)

    header = read_diffusers_folder(snapshot)

    assert header.size == _total_size(blobs)
    assert "decoder.conv_in.weight" in header.tensors


def test_not_diffusers_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "loras").mkdir()
    (tmp_path / "loras" / "a.safetensors").write_bytes(b"x")
    (tmp_path / "config-only").mkdir()
    (tmp_path / "config-only" / "config.json").write_text("{}")
    (tmp_path / "file.json").write_text("{}")

    for name in ("empty", "loras", "config-only", "file.json", "missing"):
        assert not is_diffusers_folder(tmp_path / name), name


def test_bad_model_index_is_corrupt(tmp_path: Path) -> None:
    root = write_diffusers_pipeline(tmp_path / "sd")
    (root / "model_index.json").write_text("{ not json", encoding="utf-8")

    with pytest.raises(CorruptFileError, match=r"model_index\.json is not valid JSON"):
        read_diffusers_folder(root)


def test_model_index_must_be_an_object(tmp_path: Path) -> None:
    root = write_diffusers_pipeline(tmp_path / "sd")
    (root / "model_index.json").write_text("[]", encoding="utf-8")

    with pytest.raises(CorruptFileError, match="not an object"):
        read_diffusers_folder(root)


def test_bad_component_config_is_corrupt(tmp_path: Path) -> None:
    root = write_diffusers_pipeline(tmp_path / "sd")
    (root / "scheduler" / "scheduler_config.json").write_bytes(b"\xff\xfe")

    with pytest.raises(CorruptFileError, match=r"scheduler/scheduler_config\.json"):
        read_diffusers_folder(root)


def test_missing_component_folder_is_tolerated(tmp_path: Path) -> None:
    """Pipelines saved without an optional component still list it; there is simply no config."""
    root = write_diffusers_pipeline(tmp_path / "sd")
    for path in sorted((root / "feature_extractor").iterdir()):
        path.unlink()
    (root / "feature_extractor").rmdir()

    info = read_diffusers_folder(root).diffusers

    assert info is not None
    assert "feature_extractor" not in info.configs


def _within(seconds: float, read: Callable[[], object]) -> list[object]:
    """Run ``read`` in a worker thread; an exception or a result comes back, a hang fails the test."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(read())
        except Exception as exc:  # the test inspects what was raised
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"the folder read did not finish within {seconds} s"
    return outcome


@pytest.mark.parametrize(
    "component", ["unet/diffusion_pytorch_model.bin", "text_encoder/pytorch_model.bin", "vae/model.ckpt"]
)
def test_a_pickle_payload_among_the_weights_makes_the_folder_unsafe(tmp_path: Path, component: str) -> None:
    root = write_diffusers_pipeline(tmp_path / "sd")
    marker = tmp_path / "pwned"
    write_malicious_pickle(root / component, marker, "builtins.exec")

    with pytest.raises(UnsafeFileError) as caught:
        read_header(root)

    assert caught.value.reason.startswith(f"{component}: ")
    assert "builtins.exec" in caught.value.offending_globals
    assert not marker.exists()


def test_a_torch_zip_payload_in_a_component_is_unsafe_and_beats_a_corrupt_one(tmp_path: Path) -> None:
    root = write_diffusers_pipeline(tmp_path / "sd")
    marker = tmp_path / "pwned"
    (root / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"\0" * 4)  # corrupt, sorts after
    write_malicious_torch(root / "unet" / "diffusion_pytorch_model.bin", marker)

    with pytest.raises(UnsafeFileError, match=r"^unet/diffusion_pytorch_model\.bin: "):
        read_diffusers_folder(root)
    assert not marker.exists()


def test_benign_torch_weights_in_a_component_stay_readable(tmp_path: Path) -> None:
    root = write_diffusers_pipeline(tmp_path / "sd")
    write_learned_embeds_bin(root / "text_encoder" / "pytorch_model.bin")

    header = read_diffusers_folder(root)

    assert header.diffusers is not None
    assert "text_encoder/pytorch_model.bin" in header.diffusers.weight_files


def test_a_damaged_component_makes_the_folder_corrupt_naming_it(tmp_path: Path) -> None:
    root = write_diffusers_pipeline(tmp_path / "sd")
    weights = root / "vae" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1])

    with pytest.raises(
        CorruptFileError, match=r"^vae/diffusion_pytorch_model\.safetensors: the file is truncated"
    ):
        read_diffusers_folder(root)


@pytest.mark.parametrize(
    "name", ["model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors"]
)
def test_a_named_pipe_in_a_pipeline_is_unreadable_never_a_hang(tmp_path: Path, name: str) -> None:
    root = write_diffusers_pipeline(tmp_path / "sd")
    (root / name).unlink()
    os.mkfifo(root / name)

    (outcome,) = _within(5.0, lambda: read_header(root))

    assert isinstance(outcome, UnreadableFileError), outcome
    assert outcome.reason == f"{name}: a named pipe (FIFO), not a file; it was not opened"


def test_a_named_pipe_config_next_to_weights_is_unreadable(tmp_path: Path) -> None:
    root = write_diffusers_vae(tmp_path / "vae")
    (root / "config.json").unlink()
    os.mkfifo(root / "config.json")

    (outcome,) = _within(5.0, lambda: read_header(root))

    assert isinstance(outcome, UnreadableFileError), outcome
    assert outcome.reason.startswith("config.json: a named pipe (FIFO)")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            '{"_class_name": "UNet2DConditionModel", "sample_size": NaN}',
            "holds NaN, which is not a JSON number",
        ),
        ('{"cross_attention_dim": 1e999}', "holds the number 1e999, beyond the range of a 64-bit float"),
        (
            '{"cross_attention_dim": 7' + "0" * 4999 + "}",
            "holds an integer of 5,000 digits, too large to store",
        ),
        ('{"a": ' + "[" * 200 + "]" * 200 + "}", "is nested more than 100 levels deep"),
    ],
)
def test_hostile_numbers_in_a_config_are_a_specific_corrupt_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    root = write_diffusers_pipeline(tmp_path / "sd")
    (root / "unet" / "config.json").write_text(text)

    with pytest.raises(CorruptFileError) as caught:
        read_header(root)

    assert caught.value.reason == f"unet/config.json {reason}"


# What transformers writes for T5's tokenizer in a Flux.1 folder (black-forest-labs/FLUX.1-dev,
# tokenizer_2/tokenizer_config.json): "no limit" as an integer of 31 digits.
T5_MODEL_MAX_LENGTH = "1000000000000000019884624838656"


def _flux_shaped_folder(root: Path) -> Path:
    """A pipeline folder laid out as FLUX.1-dev's: CLIP and T5 encoders, their tokenizers, T5's config
    holding the 31-digit ``model_max_length`` exactly as the real file writes it."""
    root = write_diffusers_pipeline(root)
    index = json.loads((root / "model_index.json").read_text())
    index["_class_name"] = "FluxPipeline"
    index["text_encoder_2"] = ["transformers", "T5EncoderModel"]
    index["tokenizer_2"] = ["transformers", "T5TokenizerFast"]
    (root / "model_index.json").write_text(json.dumps(index))
    (root / "tokenizer_2").mkdir()
    (root / "tokenizer_2" / "tokenizer_config.json").write_text(
        '{"additional_special_tokens": [], "clean_up_tokenization_spaces": true, "eos_token": "</s>",'
        f' "extra_ids": 100, "legacy": true, "model_max_length": {T5_MODEL_MAX_LENGTH},'
        ' "pad_token": "<pad>", "sp_model_kwargs": {}, "tokenizer_class": "T5Tokenizer",'
        ' "unk_token": "<unk>"}'
    )
    return root


def test_a_t5_tokenizer_with_a_31_digit_max_length_is_read_not_corrupt(tmp_path: Path) -> None:
    root = _flux_shaped_folder(tmp_path / "FLUX.1-dev")

    info = read_header(root).diffusers

    assert info is not None
    # Kept as its text: SQLite stores integers up to 2**63 - 1 only.
    assert info.configs["tokenizer_2"]["model_max_length"] == T5_MODEL_MAX_LENGTH
    assert info.configs["tokenizer_2"]["extra_ids"] == 100
    assert json.loads(json.dumps(info.configs))  # nothing in it that a JSON column refuses


def test_a_huge_integer_in_a_model_config_is_still_corrupt(tmp_path: Path) -> None:
    root = _flux_shaped_folder(tmp_path / "FLUX.1-dev")
    (root / "unet" / "config.json").write_text(f'{{"cross_attention_dim": {T5_MODEL_MAX_LENGTH}}}')

    with pytest.raises(CorruptFileError) as caught:
        read_header(root)

    assert caught.value.reason == "unet/config.json holds an integer of 31 digits, too large to store"
