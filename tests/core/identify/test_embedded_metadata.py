"""The summary of kohya ``ss_*`` and ``modelspec.*`` metadata; malformed values never crash it."""

from __future__ import annotations

import json

import pytest

from core.formats.embedded_metadata import (
    TOP_TAGS,
    EmbeddedMetadata,
    _merged_training_tags,
    _one_folder_of_counts,
    read_embedded_metadata,
)
from core.taxonomy import Architecture, Prediction

KOHYA = {
    "ss_output_name": "pastel_style",
    "ss_base_model_version": "sdxl_base_v1-0",
    "ss_v2": "False",
    "ss_sd_model_name": "sd_xl_base_1.0.safetensors",
    "ss_network_module": "lycoris.kohya",
    "ss_network_dim": "16",
    "ss_network_alpha": "8.0",
    "ss_network_args": '{"algo": "locon", "conv_dim": "8"}',
    "ss_resolution": "(1024, 1024)",
    "ss_tag_frequency": json.dumps(
        {"5_pastel": {"1girl": 10, "pastel": 7}, "2_extra": {"pastel": 3, "sky": "2"}}
    ),
    "sshs_model_hash": "abc123",
    "sshs_legacy_hash": "deadbeef",
}
MODELSPEC = {
    "modelspec.sai_model_spec": "1.0.0",
    "modelspec.architecture": "stable-diffusion-xl-v1-base/lora",
    "modelspec.implementation": "https://github.com/Stability-AI/generative-models",
    "modelspec.title": "Pastel Style",
    "modelspec.author": "someone",
    "modelspec.description": "soft colours",
    "modelspec.license": "openrail++",
    "modelspec.date": "2024-01-01T00:00:00",
    "modelspec.resolution": "1024x1024",
    "modelspec.prediction_type": "epsilon",
    "modelspec.trigger_phrase": "pastel, soft light ,",
    "modelspec.thumbnail": "data:image/jpeg;base64,/9j/4AAQ",
    "modelspec.tags": "style, colour",
    "modelspec.hash_sha256": "0xfeed",
}


def test_kohya_summary() -> None:
    meta = read_embedded_metadata(KOHYA)
    assert meta.title == "pastel_style"  # ss_output_name stands in for a missing modelspec.title
    assert meta.output_name == "pastel_style"
    assert meta.base_model_version == "sdxl_base_v1-0"
    assert meta.v2 is False
    assert meta.sd_model_name == "sd_xl_base_1.0.safetensors"
    assert meta.network_module == "lycoris.kohya"
    assert meta.network_dim == 16
    assert meta.network_alpha == 8.0
    assert meta.network_args == {"algo": "locon", "conv_dim": "8"}
    assert meta.resolution == "1024x1024"
    assert meta.training_tags == (("1girl", 10), ("pastel", 10), ("sky", 2))  # folders merged, ties by name
    assert meta.hashes == {"sshs_model_hash": "abc123", "sshs_legacy_hash": "deadbeef"}
    assert meta.trigger_phrases == ()
    assert meta.errors == ()


def test_training_tags_are_ranked_and_capped() -> None:
    frequency = {"1_a": {f"tag{i:03d}": i for i in range(100)}}
    meta = read_embedded_metadata({"ss_tag_frequency": json.dumps(frequency)})
    assert len(meta.training_tags) == TOP_TAGS
    assert meta.training_tags[0] == ("tag099", 99)


def test_modelspec_summary() -> None:
    meta = read_embedded_metadata({**KOHYA, **MODELSPEC})
    assert meta.title == "Pastel Style"
    assert meta.architecture == "stable-diffusion-xl-v1-base/lora"
    assert meta.implementation == "https://github.com/Stability-AI/generative-models"
    assert meta.trigger_phrases == ("pastel", "soft light")
    assert meta.thumbnail == "data:image/jpeg;base64,/9j/4AAQ"
    assert meta.tags == ("style", "colour")
    assert meta.prediction is Prediction.EPS
    assert meta.hashes["modelspec.hash_sha256"] == "0xfeed"
    assert (meta.author, meta.license, meta.description) == ("someone", "openrail++", "soft colours")


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"modelspec.architecture": "stable-diffusion-v1/lora"}, Architecture.SD1),
        ({"modelspec.architecture": "stable-diffusion-v2-768-v"}, Architecture.SD2),
        ({"modelspec.architecture": "stable-diffusion-xl-v1-refiner"}, Architecture.SDXL_REFINER),
        ({"modelspec.architecture": "stable-diffusion-3-medium/lora"}, Architecture.SD3),
        ({"modelspec.architecture": "flux-1-dev/lora"}, Architecture.FLUX1),
        ({"ss_base_model_version": "sd_v1"}, Architecture.SD1),
        ({"ss_base_model_version": "sd_v2"}, Architecture.SD2),
        ({"ss_base_model_version": "flux1"}, Architecture.FLUX1),
        ({"ss_v2": "True"}, Architecture.SD2),
        # modelspec wins over kohya's keys
        (
            {"modelspec.architecture": "stable-diffusion-v1", "ss_base_model_version": "sdxl_base"},
            Architecture.SD1,
        ),
        ({"ss_v2": "False"}, None),
        ({"modelspec.architecture": "something-else"}, None),
    ],
)
def test_architecture_hint(metadata: dict[str, str], expected: Architecture | None) -> None:
    hint = read_embedded_metadata(metadata).architecture_hint()
    assert (hint[0] if hint else None) is expected


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"modelspec.prediction_type": "v"}, Prediction.V),
        ({"modelspec.prediction_type": "v_prediction"}, Prediction.V),
        ({"modelspec.prediction_type": "epsilon"}, Prediction.EPS),
        ({"ss_v_parameterization": "True"}, Prediction.V),
        ({"modelspec.prediction_type": "flow"}, None),
    ],
)
def test_prediction(metadata: dict[str, str], expected: Prediction | None) -> None:
    assert read_embedded_metadata(metadata).prediction is expected


def test_prediction_source_names_the_deciding_key() -> None:
    meta = read_embedded_metadata({"modelspec.prediction_type": "flow", "ss_v_parameterization": "True"})
    assert (meta.prediction, meta.prediction_source) == (Prediction.V, "ss_v_parameterization")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1024x768", "1024x768"), ("(512, 512)", "512x512"), ("768", "768x768"), ("big", None)],
)
def test_resolution_forms(value: str, expected: str | None) -> None:
    assert read_embedded_metadata({"modelspec.resolution": value}).resolution == expected


def test_malformed_values_never_crash() -> None:
    meta = read_embedded_metadata(
        {
            "ss_tag_frequency": "{not json",
            "ss_network_args": "[1, 2]",
            "ss_network_dim": "lots",
            "ss_network_alpha": "nan",
            "ss_v2": "maybe",
            "ss_output_name": "None",
            "modelspec.title": "   ",
            "modelspec.trigger_phrase": " , ,",
        }
    )
    assert meta.training_tags == ()
    assert meta.network_args == {}
    assert meta.network_dim is None
    assert meta.network_alpha is None
    assert meta.v2 is None
    assert meta.title is None
    assert meta.trigger_phrases == ()
    assert meta.errors[0] == "ss_network_args is not a JSON object"
    assert meta.errors[1].startswith("ss_tag_frequency is not valid JSON (Expecting property name")
    assert len(meta.errors) == 2
    assert meta.to_json() == {"metadata_errors": list(meta.errors)}


def test_tag_frequency_with_odd_entries() -> None:
    frequency = {"1_a": {"ok": 2, "bad": "x", "none": None}, "2_b": ["not", "a", "dict"], "3_c": {" ": 4}}
    meta = read_embedded_metadata({"ss_tag_frequency": json.dumps(frequency)})
    assert meta.training_tags == (("ok", 2),)


def test_empty_and_json_shape() -> None:
    assert read_embedded_metadata({}) == EmbeddedMetadata()
    assert EmbeddedMetadata().to_json() == {}
    data = read_embedded_metadata({**KOHYA, **MODELSPEC}).to_json()
    json.dumps(data)  # JSON-able
    assert data["training_tags"] == {"1girl": 10, "pastel": 10, "sky": 2}
    assert data["trigger_phrases"] == ["pastel", "soft light"]
    assert data["prediction_type"] == "eps"
    assert data["network_args"] == {"algo": "locon", "conv_dim": "8"}
    assert "errors" not in data


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ('{"1_x": {"a": NaN}}', "ss_tag_frequency holds NaN, which is not a JSON number"),
        (
            '{"1_x": {"a": 1e999}}',
            "ss_tag_frequency holds the number 1e999, beyond the range of a 64-bit float",
        ),
        (
            '{"1_x": {"a": 1' + "0" * 5000 + "}}",
            "ss_tag_frequency holds an integer of 5,001 digits, too large to store",
        ),
        (
            '{"1_x": {"\\udc00": 1}}',
            "ss_tag_frequency holds a lone UTF-16 surrogate escape (\\udc00), which is not text",
        ),
        ("[" * 50_000 + "]" * 50_000, "ss_tag_frequency is nested more than 100 levels deep"),
    ],
)
def test_hostile_json_in_a_value_is_a_metadata_error_not_a_crash(raw: str, error: str) -> None:
    meta = read_embedded_metadata({"ss_tag_frequency": raw, "ss_output_name": "kept"})

    assert meta.errors == (error,)
    assert meta.training_tags == ()
    assert meta.output_name == "kept"
    json.dumps(meta.to_json(), allow_nan=False)  # storable as strict JSON


def test_numbers_kept_from_metadata_fit_a_database_column() -> None:
    meta = read_embedded_metadata(
        {
            "ss_network_dim": "1e300",
            "ss_network_alpha": "1e999",
            "ss_tag_frequency": json.dumps(
                {"1_a": {"x": 2**62, "y": "9" * 30, "z": 2.5}, "2_b": {"x": 2**62, "w": -3, "v": True}}
            ),
        }
    )

    assert meta.network_dim is None
    assert meta.network_alpha is None
    assert meta.training_tags == (("x", 2**63 - 1),)  # the sum is capped, not wrapped; odd counts skipped
    assert meta.errors == ()


# Tag tables for the one-folder fast path: each must give the tags (and errors) the strict loader gives.
TAG_TABLES = {
    "usual": json.dumps({"10_style": {f"tag{i}": (i * 7) % 50 for i in range(200)}}),
    "ties by name": json.dumps({"1_x": {"b": 3, "a": 3, "c": 3, "d": 1}}),
    "zero counts": json.dumps({"1_x": {"a": 0, "b": 0}}),
    "empty folder": '{"1_x": {}}',
    "empty table": "{}",
    "two folders": json.dumps({"1_x": {"a": 1, "b": 2}, "2_y": {"a": 5, " b ": 1}}),
    "padded tag": json.dumps({"1_x": {" a": 1, "a": 2}}),
    "empty tag": json.dumps({"1_x": {"": 4, "a": 1}}),
    "negative": json.dumps({"1_x": {"a": -1, "b": 2}}),
    "too large": '{"1_x": {"a": 9223372036854775808}}',
    "past u64": '{"1_x": {"a": 99999999999999999999999}}',
    "float count": '{"1_x": {"a": 2.0, "b": 1}}',
    "string count": '{"1_x": {"a": "3"}}',
    "boolean count": '{"1_x": {"a": true}}',
    "repeated tag": '{"1_x": {"a": 1, "a": 5}}',
    "escaped tag": '{"1_x": {"\\u00e9t\\u00e9": 2}}',
    "lone surrogate": '{"1_x": {"\\ud800": 2}}',
    "surrogate pair": '{"1_x": {"\\ud83d\\ude00": 2, "a": 1}}',
    "not json": "{'1_x': {'a': 1}}",
    "null": "null",
    "None": "None",
    "nan": '{"1_x": {"a": NaN}}',
    "not a folder": '{"1_x": ["a"]}',
    "whitespace": ' \n{ "1_x" : { "a" : 1 } } \t',
}


@pytest.mark.parametrize("label", sorted(TAG_TABLES))
def test_tag_tables_read_in_c_give_what_the_strict_loader_gives(label: str) -> None:
    metadata = {"ss_tag_frequency": TAG_TABLES[label]}
    quick = _one_folder_of_counts(TAG_TABLES[label])
    errors: list[str] = []
    strict = _merged_training_tags(metadata, errors)
    if quick is not None:
        assert quick == strict
        assert errors == []
    read = read_embedded_metadata(metadata)
    assert read.training_tags == strict
    assert list(read.errors) == errors


def test_the_usual_tag_table_is_read_in_c() -> None:
    assert _one_folder_of_counts(TAG_TABLES["usual"]) is not None


def test_escaped_accents_are_still_read_in_c() -> None:
    """kohya writes its table with json.dumps, which escapes every non-ASCII tag."""
    assert _one_folder_of_counts(TAG_TABLES["escaped tag"]) == (("été", 2),)
