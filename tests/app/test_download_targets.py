from __future__ import annotations

import pytest

from app.download_targets import CivitaiTarget, HfTarget, TargetError, parse_target


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("civitai:130072", CivitaiTarget(version_id=130072)),
        ("civitai:130072:98765", CivitaiTarget(version_id=130072, file_id=98765)),
        ("https://civitai.com/api/download/models/130072", CivitaiTarget(version_id=130072)),
        (
            "https://civitai.com/models/4201/realistic-vision-v60?modelVersionId=130072",
            CivitaiTarget(version_id=130072, model_id=4201),
        ),
        ("https://civitai.red/models/4201", CivitaiTarget(version_id=None, model_id=4201)),
        ("http://127.0.0.1:8080/models/7/", CivitaiTarget(version_id=None, model_id=7)),
        (
            "hf:stabilityai/sdxl-turbo/unet/diffusion_pytorch_model.fp16.safetensors",
            HfTarget("stabilityai/sdxl-turbo", "unet/diffusion_pytorch_model.fp16.safetensors"),
        ),
        ("hf:org/name@v1.0/model.safetensors", HfTarget("org/name", "model.safetensors", "v1.0")),
        # a file's hash, as the render plan and A1111 infotext show it: found on Civitai
        ("1a2b3c4d5e", CivitaiTarget(version_id=None, file_hash="1A2B3C4D5E")),
        ("0123456789", CivitaiTarget(version_id=None, file_hash="0123456789")),
        ("ab" * 32, CivitaiTarget(version_id=None, file_hash="AB" * 32)),
    ],
)
def test_targets(text: str, expected: object) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "civitai:abc",
        "civitai:1:2:3",
        "https://civitai.com/images/123",
        "https://civitai.com/models/4201?modelVersionId=x",
        "hf:only-a-repo",
        "hf:org/name/",
        "hf:org/name/../../etc/passwd",
        "model.safetensors",
        "1a2b3c4d5",  # 9 hex digits: no hash Civitai knows is that long
        "1a2b3c4d5g",
        "130072",  # a version id needs civitai: before it
    ],
)
def test_bad_targets_say_what_is_expected(text: str) -> None:
    with pytest.raises(TargetError, match=r"expected|not a Civitai|must be"):
        parse_target(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://huggingface.co/someone/pixel-lora/blob/main/pixel_lora.safetensors",
            HfTarget("someone/pixel-lora", "pixel_lora.safetensors", "main"),
        ),
        (
            "https://huggingface.co/stabilityai/sdxl-turbo/resolve/v1.0/unet/model.fp16.safetensors?download=true",
            HfTarget("stabilityai/sdxl-turbo", "unet/model.fp16.safetensors", "v1.0"),
        ),
        (
            "https://hf.co/org/name/blob/refs%2Fpr%2F3/sub/dir/lora.safetensors",
            HfTarget("org/name", "sub/dir/lora.safetensors", "refs/pr/3"),
        ),
        (
            "http://127.0.0.1:39901/someone/pixel-lora/resolve/" + "d" * 40 + "/pixel_lora.safetensors",
            HfTarget("someone/pixel-lora", "pixel_lora.safetensors", "d" * 40),
        ),
        (
            "https://mirror.example/hf/org/name/blob/main/x.safetensors",
            HfTarget("org/name", "x.safetensors", "main"),
        ),
    ],
)
def test_hugging_face_file_urls(text: str, expected: HfTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    endpoint = "https://mirror.example/hf" if "mirror" in text else "http://127.0.0.1:39901"
    assert parse_target(text, hf_endpoint=endpoint) == expected


def test_the_hub_endpoint_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:39901")
    url = "http://127.0.0.1:39901/org/name/blob/main/model.safetensors"
    assert parse_target(url) == HfTarget("org/name", "model.safetensors", "main")
    # A Civitai-shaped path on the same host is still Civitai's.
    assert parse_target("http://127.0.0.1:39901/models/7") == CivitaiTarget(version_id=None, model_id=7)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("https://huggingface.co/org/name", "a Hugging Face repository, not a file"),
        ("https://huggingface.co/org/name/tree/main", "a Hugging Face repository, not a file"),
        ("https://huggingface.co/org/name/blob/main/../../x", "not a Hugging Face file URL"),
        ("https://huggingface.co/docs", "not a Hugging Face file URL"),
        ("https://example.com/org/name/blob/main/x.safetensors", "nor a Hugging Face file URL"),
    ],
)
def test_bad_hugging_face_urls_say_what_is_expected(text: str, says: str) -> None:
    with pytest.raises(TargetError, match=says):
        parse_target(text, hf_endpoint="https://huggingface.co")
