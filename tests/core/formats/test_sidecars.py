from __future__ import annotations

import json
import os
import struct
import threading
import time
import zlib
from pathlib import Path

import pytest

from core.formats import sidecars
from core.formats.sidecar_info import SidecarInfo
from core.formats.sidecars import read_sidecars, sidecar_names, sidecar_stem
from tests.factory.civitai_info import civitai_helper_payload, write_civitai_helper_info
from tests.factory.files import (
    civitai_version_payload,
    tiny_png,
    write_a1111_user_metadata,
    write_civitai_info,
    write_cm_info,
    write_lora_manager_metadata,
)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "Lora" / "turbo_style.safetensors"
    path.parent.mkdir()
    path.write_bytes(b"model")
    return path


def test_no_sidecars(model: Path) -> None:
    info = read_sidecars(model)

    assert info == SidecarInfo()
    assert info.is_empty


def test_missing_folder_never_raises(tmp_path: Path) -> None:
    assert read_sidecars(tmp_path / "nowhere" / "x.safetensors").is_empty


def test_a1111_user_metadata(model: Path) -> None:
    source = write_a1111_user_metadata(model)

    info = read_sidecars(model)

    assert info.description == "Soft watercolor style"
    assert info.sd_version == "SD1"
    assert info.trigger_words == ("watercolor", "soft light")
    assert info.preferred_weight == 0.7
    assert info.negative_text == "lowres"
    assert info.notes == "works best at 0.6-0.8"
    assert info.sources == (source,)
    assert info.civitai is None


@pytest.mark.parametrize(
    ("stored", "expected"), [(0, None), (0.0, None), ("0.55", 0.55), ("", None), (True, None)]
)
def test_a1111_preferred_weight_is_lenient(model: Path, stored: object, expected: float | None) -> None:
    write_a1111_user_metadata(model, **{"preferred weight": stored})

    assert read_sidecars(model).preferred_weight == expected


def test_civitai_helper_info(model: Path) -> None:
    payload = civitai_version_payload()
    write_civitai_info(model, payload)

    info = read_sidecars(model)

    facts = info.civitai
    assert facts is not None
    assert (facts.model_id, facts.version_id) == (215485, 242807)
    assert (facts.model_name, facts.version_name, facts.base_model) == (
        "SDXL Turbo LoRA",
        "v1-128dim",
        "SDXL 1.0",
    )
    assert facts.payload == payload
    assert facts.trigger_words == ("turbo style",)
    assert facts.description_html == "<p>v1: first version</p>"
    assert [image.url for image in facts.examples] == ["https://image.civitai.com/x/4080480.jpeg"]
    # Civitai's words are not the user's: the user's fields stay empty.
    assert info.trigger_words == ()
    assert info.description is None
    assert info.base_model_label == "SDXL 1.0"
    assert info.nsfw is False


def test_civitai_helper_info_with_the_model_page_copied_in(model: Path) -> None:
    """Civitai Helper adds the model's creator, description and tags to the version payload."""
    write_civitai_helper_info(model, civitai_helper_payload())

    facts = read_sidecars(model).civitai

    assert facts is not None
    assert (facts.model_name, facts.version_name, facts.creator) == (
        "Detail Tweaker LoRA",
        "v1.0",
        "OedoSoldier",
    )
    assert facts.tags == ("concept", "detail", "tool")
    assert facts.description_html is not None
    assert "<strong>enhances or reduces</strong>" in facts.description_html
    assert facts.page_url() == "https://civitai.com/models/58390?modelVersionId=62833"
    first = facts.examples[0]
    assert (first.prompt, first.sampler, first.cfg, first.steps) == (
        "<lora:sd_xl_turbo_lora_v1-128dim:1>1 girl, snow",
        "LCM",
        1.5,
        4,
    )
    assert (first.seed, first.size, first.model_hash) == (2494203713, (768, 1024), "31e35c80fc")


def test_empty_civitai_info_means_not_found_and_is_no_error(model: Path) -> None:
    source = write_civitai_info(model, None)

    info = read_sidecars(model)

    assert info.sources == (source,)
    assert info.errors == ()
    assert info.civitai is None


def test_stability_matrix_cm_info(model: Path) -> None:
    write_cm_info(model)

    info = read_sidecars(model)

    assert info.civitai is not None
    assert (info.civitai.model_id, info.civitai.version_id) == (215485, 242807)
    assert info.civitai.version_name == "v1-128dim"
    assert info.civitai.payload == {}  # not a Civitai version payload
    assert info.civitai.trigger_words == ("turbo style",)
    assert info.civitai.description_html == "<p>Fast.</p>"
    assert info.tags == ("style", "turbo")
    assert info.trigger_words == ()
    assert info.description is None
    assert info.nsfw is False


def test_stability_matrix_without_civitai_ids(model: Path) -> None:
    """OpenModelDB entries (upscalers) carry names but no Civitai ids."""
    write_cm_info(model, ModelId=None, VersionId=None, Source="OpenModelDb")

    assert read_sidecars(model).civitai is None


def test_lora_manager_metadata(model: Path) -> None:
    write_lora_manager_metadata(model)

    info = read_sidecars(model)

    assert info.notes == "LM notes"
    assert info.description is None
    assert info.civitai is not None
    assert info.civitai.description_html == "LM description"
    assert info.preferred_weight == 0.8
    assert info.base_model_label == "SDXL 1.0"
    assert info.tags == ("style", "Turbo")
    assert info.civitai is not None
    assert info.civitai.version_id == 242807
    assert info.civitai.payload == civitai_version_payload()


def test_lora_manager_without_civitai(model: Path) -> None:
    write_lora_manager_metadata(
        model, civitai={"trainedWords": ["my_trigger"]}, base_model="Unknown", usage_tips="{broken"
    )

    info = read_sidecars(model)

    assert info.civitai is None
    assert info.trigger_words == ("my_trigger",)
    assert info.base_model_label is None
    assert info.preferred_weight is None
    assert info.errors == ()


def test_all_sidecars_merge_with_the_users_words_first(model: Path) -> None:
    payload = civitai_version_payload()
    a1111 = write_a1111_user_metadata(model)
    helper = write_civitai_info(model, payload)
    matrix = write_cm_info(model)
    manager = write_lora_manager_metadata(model)

    info = read_sidecars(model)

    assert info.sources == (a1111, helper, matrix, manager)
    assert info.description == "Soft watercolor style"
    assert info.notes == "works best at 0.6-0.8"
    assert info.trigger_words == ("watercolor", "soft light")
    assert info.preferred_weight == 0.7
    assert info.base_model_label == "SDXL 1.0"
    assert info.tags == ("style", "Turbo")  # case-insensitive union
    assert info.civitai is not None
    assert info.civitai.payload == payload


def test_one_malformed_sidecar_does_not_hide_the_others(model: Path) -> None:
    write_a1111_user_metadata(model)
    model.with_name(model.stem + ".civitai.info").write_text("{not json", encoding="utf-8")
    model.with_name(model.stem + ".cm-info.json").write_text("[1, 2]", encoding="utf-8")
    model.with_name(model.stem + ".metadata.json").write_bytes(b"\xff\xfe\x00")

    info = read_sidecars(model)

    assert info.description == "Soft watercolor style"
    assert len(info.errors) == 3
    assert info.errors[0].startswith("turbo_style.civitai.info: is not valid JSON")
    assert info.errors[1] == "turbo_style.cm-info.json: holds a JSON list, not an object"
    assert info.errors[2] == "turbo_style.metadata.json: is not UTF-8 text"
    assert len(info.sources) == 1


def test_byte_order_mark_is_accepted(model: Path) -> None:
    model.with_name(model.stem + ".json").write_bytes(b"\xef\xbb\xbf" + json.dumps({"notes": "bom"}).encode())

    assert read_sidecars(model).notes == "bom"


def test_previews_in_cover_order(model: Path) -> None:
    names = ["turbo_style.png", "turbo_style.preview.webp", "turbo_style.preview.png", "turbo_style.jpg"]
    for name in names:
        (model.parent / name).write_bytes(tiny_png())
    (model.parent / "other.preview.png").write_bytes(tiny_png())

    info = read_sidecars(model)

    assert [p.name for p in info.previews] == [
        "turbo_style.preview.png",
        "turbo_style.preview.webp",
        "turbo_style.png",
        "turbo_style.jpg",
    ]
    assert not info.is_empty


def test_lora_manager_preview_elsewhere_is_appended(model: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "previews" / "turbo.webp"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(tiny_png())
    (model.parent / "turbo_style.preview.png").write_bytes(tiny_png())
    write_lora_manager_metadata(model, preview_url=elsewhere.as_posix())

    assert [p.name for p in read_sidecars(model).previews] == ["turbo_style.preview.png", "turbo.webp"]


def test_siblings_listing_replaces_stat_calls(model: Path) -> None:
    write_a1111_user_metadata(model)
    (model.parent / "turbo_style.preview.jpg").write_bytes(tiny_png())
    (model.parent / "turbo_style.webp").write_bytes(tiny_png())

    info = read_sidecars(model, siblings={"turbo_style.safetensors", "turbo_style.preview.jpg"})

    assert info.sources == ()  # the .json was not in the listing
    # Only listed previews count (the .webp is not in the listing); each is checked to be a regular file.
    assert [p.name for p in info.previews] == ["turbo_style.preview.jpg"]


def test_sidecar_listed_but_vanished_is_an_error_line(model: Path) -> None:
    info = read_sidecars(model, siblings={"turbo_style.civitai.info"})

    assert len(info.errors) == 1
    assert info.errors[0].startswith("turbo_style.civitai.info: cannot be read")


def test_stem_and_names(tmp_path: Path) -> None:
    assert sidecar_stem(tmp_path / "a.b.safetensors") == "a.b"
    assert sidecar_stem(tmp_path / "my.model") == "my.model"  # a diffusers folder keeps its whole name
    assert sidecar_names(tmp_path / "x.ckpt")[:4] == [
        "x.json",
        "x.civitai.info",
        "x.cm-info.json",
        "x.metadata.json",
    ]
    assert "x.preview.png" in sidecar_names(tmp_path / "x.ckpt")


def _read_within(model: Path, seconds: float = 5.0) -> SidecarInfo:
    """``read_sidecars`` in a worker thread, so a reader that blocks fails the test instead of hanging it."""
    result: list[SidecarInfo] = []
    worker = threading.Thread(target=lambda: result.append(read_sidecars(model)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, f"read_sidecars did not return within {seconds} s"
    return result[0]


@pytest.mark.parametrize("suffix", [".json", ".civitai.info", ".cm-info.json", ".metadata.json"])
def test_a_named_pipe_with_a_sidecar_name_is_reported_never_opened(model: Path, suffix: str) -> None:
    os.mkfifo(model.parent / f"turbo_style{suffix}")
    if suffix != ".json":
        write_a1111_user_metadata(model)

    info = _read_within(model)

    assert f"turbo_style{suffix}: a named pipe (FIFO), not a file; it was not opened" in info.errors
    assert all(path.name != f"turbo_style{suffix}" for path in info.sources)


def test_a_named_pipe_with_a_preview_name_is_no_cover(model: Path) -> None:
    os.mkfifo(model.parent / "turbo_style.preview.png")
    (model.parent / "turbo_style.png").write_bytes(tiny_png())

    info = _read_within(model)

    assert [p.name for p in info.previews] == ["turbo_style.png"]
    assert info.errors == ("turbo_style.preview.png: a named pipe (FIFO), not a file; it was not opened",)


def test_a_sidecar_larger_than_the_cap_is_not_read(model: Path) -> None:
    with (model.parent / "turbo_style.json").open("wb") as fh:
        fh.truncate(sidecars.MAX_SIDECAR_BYTES + 1)  # sparse: costs no disk

    info = read_sidecars(model)

    assert info.errors == ("turbo_style.json: is larger than 16 MiB: too large to be a sidecar",)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"preferred weight": NaN}', "holds NaN, which is not a JSON number"),
        ('{"preferred weight": -Infinity}', "holds -Infinity, which is not a JSON number"),
        ('{"preferred weight": 1e999}', "holds the number 1e999, beyond the range of a 64-bit float"),
        ('{"notes": "x", "n": 1' + "0" * 5000 + "}", "holds an integer of 5,001 digits, too large to store"),
        ('{"n": 9223372036854775808}', "holds the integer 9223372036854775808, too large to store"),
        ('{"description": "\\ud800"}', "holds a lone UTF-16 surrogate escape (\\ud800), which is not text"),
        ("[" * 100_000 + "]" * 100_000, "is nested more than 100 levels deep"),
        ('{"a": ' + "[" * 150 + "]" * 150 + "}", "is nested more than 100 levels deep"),
    ],
)
def test_hostile_json_is_one_error_line_and_the_others_still_count(
    model: Path, text: str, reason: str
) -> None:
    (model.parent / "turbo_style.json").write_text(text)
    write_cm_info(model)

    info = read_sidecars(model)

    assert info.errors == (f"turbo_style.json: {reason}",)
    assert info.civitai is not None  # the Stability Matrix sidecar was still read


def test_a_civitai_id_no_database_can_store_is_dropped_and_the_rest_kept(model: Path) -> None:
    payload = civitai_version_payload()
    payload["id"] = "9" * 40  # digits in a string: valid JSON, but no INTEGER column holds it
    (model.parent / "turbo_style.civitai.info").write_text(json.dumps(payload))

    info = read_sidecars(model)

    assert info.errors == ()
    assert info.civitai is not None
    assert info.civitai.version_id is None
    assert info.civitai.model_name == "SDXL Turbo LoRA"


def test_a_weight_that_is_not_a_finite_number_is_no_preference(model: Path) -> None:
    (model.parent / "turbo_style.json").write_text(json.dumps({"preferred weight": "nan", "notes": "n"}))

    info = read_sidecars(model)

    assert info.preferred_weight is None
    assert info.notes == "n"
    assert info.errors == ()


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height``: a few dozen bytes, pixels never written."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


@pytest.mark.parametrize(
    ("size", "said"),
    [
        ((20000, 20000), "400,000,000 pixels is more than a preview can be"),  # past Pillow's own refusal
        ((65535, 65535), "4,294,836,225 pixels is more than a preview can be"),
        ((10000, 10000), "10000\u00d710000 pixels is more than a preview can be"),  # Pillow only warns
    ],
)
def test_a_decompression_bomb_preview_is_an_error_and_no_cover(
    model: Path, size: tuple[int, int], said: str
) -> None:
    (model.parent / "turbo_style.preview.png").write_bytes(_png_header(*size))
    (model.parent / "turbo_style.png").write_bytes(tiny_png())

    started = time.monotonic()
    info = read_sidecars(model)

    assert time.monotonic() - started < 1  # the header only: nothing decoded
    assert [p.name for p in info.previews] == ["turbo_style.png"]
    assert len(info.errors) == 1
    assert info.errors[0].startswith(f"turbo_style.preview.png: {said}")
    assert info.errors[0].endswith("(Pillow's limit; a decompression bomb?); not used")


@pytest.mark.parametrize(
    "data", [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"not an image at all", _png_header(0, 0)[:20]]
)
def test_a_damaged_or_unknown_preview_is_an_error_and_no_cover(model: Path, data: bytes) -> None:
    (model.parent / "turbo_style.preview.jpg").write_bytes(data)

    info = read_sidecars(model)

    assert info.previews == ()
    assert info.errors == ("turbo_style.preview.jpg: not an image Atelier can read; not used",)


def test_a_preview_as_large_as_pillow_allows_is_used(model: Path) -> None:
    (model.parent / "turbo_style.preview.png").write_bytes(_png_header(9000, 9000))  # 81 Mpx: a big render

    info = read_sidecars(model)

    assert [p.name for p in info.previews] == ["turbo_style.preview.png"]
    assert info.errors == ()
