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
    ],
)
def test_bad_targets_say_what_is_expected(text: str) -> None:
    with pytest.raises(TargetError, match=r"expected|not a Civitai|must be"):
        parse_target(text)
