"""The Civitai parsers against real payloads (tests/data/civitai) and the odd shapes seen in the wild."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.sources.civitai_records import (
    RecordError,
    parse_commercial_use,
    parse_datetime,
    parse_file,
    parse_image,
    parse_image_page,
    parse_model,
    parse_search_page,
    parse_tags,
    parse_version,
    parse_versions,
)
from tests.fakes.civitai_api import load_payload


def test_models_list_page() -> None:
    page = parse_search_page(load_payload("03_models.json"))
    assert [m.id for m in page.items] == [3036, 4514, 8109]
    assert page.next_cursor is None  # this sample uses page paging: no nextCursor
    charturner = page.items[0]
    assert charturner.name == "CharTurner - Character Turnaround helper for 1.5 AND 2.1!"
    assert charturner.type == "TextualInversion"
    assert charturner.creator == "mousewrites"
    assert charturner.tags == ("character", "consistent character", "turnaround", "model sheet")
    assert charturner.allow_commercial_use == ("Rent",)
    assert charturner.allow_no_credit is True
    assert charturner.stats.downloads == 56206
    assert charturner.stats.rating == pytest.approx(4.63)
    assert charturner.stats.favorites == 7433
    assert charturner.mode is None
    v2 = charturner.versions[0]
    assert (v2.id, v2.model_id, v2.name, v2.base_model) == (9857, 3036, "CharTurner V2 - For 2.1", "SD 2.1")
    assert v2.trained_words == ("21charturnerv2",)
    assert v2.model_name == charturner.name
    assert v2.model_type == "TextualInversion"
    assert v2.created_at == datetime(2023, 2, 12, 22, 44, 1, 442000, tzinfo=UTC)
    file = v2.files[0]
    assert file.name == "21charturnerv2.pt"
    assert file.size_bytes == 17426  # 17.017578125 KB * 1024
    assert file.hashes["SHA256"] == "F253ABB016C22DD426D6E482F4F8C3960766DE6E4C02F151478BFB98F6985383"
    assert "AUTOV1" not in file.hashes  # missing hashes stay missing
    assert file.format == "PickleTensor"
    assert v2.images[0].meta is None
    assert v2.images[0].nsfw_level == 1  # legacy nsfw: false
    assert v2.raw["id"] == 9857
    assert charturner.raw["id"] == 3036


def test_model_by_id_checkpoint_with_object_tags() -> None:
    model = parse_model(load_payload("04_models_modelId.json"))
    assert (model.id, model.name, model.type) == (1102, "SynthwavePunk", "Checkpoint")
    assert model.tags == ("punk", "synthwave", "style")
    assert model.allow_commercial_use == ("Sell",)
    assert [v.id for v in model.versions] == [1144, 1292, 1105]
    v3 = model.versions[1]
    assert v3.trained_words == ("nvinkpunk", "snthwve style", "style of joemadureira")
    assert len(v3.files) == 2
    ckpt, safetensors = v3.files
    assert ckpt.primary is False
    assert ckpt.download_url == "https://civitai.com/api/download/models/1292?type=Model&format=PickleTensor"
    assert safetensors.primary is True
    assert safetensors.size_bytes == 2082691 * 1024
    assert v3.primary_file == safetensors
    assert safetensors.hashes == {
        "AUTOV1": "5D83B27C",
        "AUTOV2": "EE2AB6D872",
        "SHA256": "EE2AB6D8723611D9A2FA9B0C8CE5A3770A84189A92B53D5E6CF44B02B9F8E033",
        "CRC32": "97DD6FF4",
        "BLAKE3": "910E778DE880D7EA9511A075B5D4C59B9ED1EE7A9C6B98FFE4EB5C198F0E5240",
    }
    image = model.versions[0].images[0]
    assert image.nsfw_level == 4  # legacy nsfw: true
    assert image.prompt is not None
    assert image.prompt.startswith("snthwve style nvinkpunk drunken")
    assert image.seed == 785137026
    assert image.steps == 30
    assert image.sampler == "Euler a"
    assert image.cfg == 7.0
    assert image.size == (512, 704)
    assert image.negative is not None
    assert image.negative.startswith("cartoon, 3d")


def test_model_version_standalone() -> None:
    version = parse_version(load_payload("05_models_versions_modelVersionId.json"))
    assert (version.id, version.model_id, version.name) == (1318, 1244, "toad")
    assert version.model_name == "froggy style"
    assert version.model_type == "Checkpoint"
    assert version.description_html is None
    assert version.base_model == "SD 1.5"
    assert version.published_at is None
    file = version.files[0]
    assert file.size_bytes == round(2546414.971679688 * 1024)
    assert file.fp == "fp16"
    assert file.size_label == "full"
    assert file.pickle_scan_result == "Success"
    assert file.hashes["CRC32"] == "32AEB036"
    assert len(version.images) == 10
    assert version.download_url == "https://civitai.com/api/download/models/1318"


def test_captured_lora_model_and_version() -> None:
    model = parse_model(load_payload("RepoCivitaiModelMetadata1.json"))
    assert (model.id, model.type) == (215485, "LORA")
    assert model.allow_commercial_use == ("RentCivit",)  # JSON-array shape
    assert model.allow_no_credit is False
    assert model.allow_derivatives is False
    assert model.stats.downloads == 4842
    assert [v.base_model for v in model.versions] == ["SDXL Turbo", "SDXL 1.0", "SD 1.5"]
    assert model.description_html is not None
    assert "<" in model.description_html
    workflow_zip = model.versions[1].files[0]
    assert workflow_zip.type == "Training Data"
    assert workflow_zip.fp is None
    assert workflow_zip.format == "Other"
    assert workflow_zip.size_bytes == 1448

    version = parse_version(load_payload("RepoCivitaiVersionMetadata1.json"))
    assert version.id == 242807
    assert version.model_id == 215485
    assert version.model_name == "SDXL Turbo-LoRA-Stable Diffusion XL faster than light"
    assert version.model_type == "LORA"
    assert version.published_at == datetime(2023, 11, 29, 1, 28, 10, 937000, tzinfo=UTC)
    assert version.base_model_type is None
    file = version.files[0]
    assert file.size_bytes == 787342192  # 768888.859375 KB * 1024, exactly
    assert file.hashes["AUTOV3"] == "813EA5FB1C67F3CBF1C4DFF5D392EE5E073A2C41DCF3AB36CF6CDD872C4E7690"
    image = version.images[0]
    assert image.nsfw_level == 1  # nsfw: "None"
    assert image.type == "image"
    assert image.blurhash == "U9G9BnR,GI%N00kC4-s:5soz4TMx?wV@^*o#"
    assert image.cfg == 1.5
    assert image.sampler == "LCM"
    assert image.size == (768, 1024)
    assert version.files == parse_model(load_payload("RepoCivitaiModelMetadata1.json")).versions[0].files


def test_images_page_word_levels_and_cursor() -> None:
    page = parse_image_page(load_payload("02_images.json"))
    assert page.next_cursor == "101"  # an int cursor becomes an opaque string
    image = page.items[0]
    assert image.id == 469632
    assert (image.width, image.height) == (1024, 1536)
    assert image.nsfw_level == 1  # "None"
    assert image.seed == 234871805
    assert image.size == (512, 768)
    assert image.negative == "(worst quality, low quality, extra digits:1.3), easynegative,"
    assert parse_image({"url": "u", "nsfwLevel": "Soft"}).nsfw_level == 2
    assert parse_image({"url": "u", "nsfwLevel": "Mature"}).nsfw_level == 4
    assert parse_image({"url": "u", "nsfwLevel": "X", "browsingLevel": 16}).nsfw_level == 16
    assert parse_image({"url": "u", "nsfwLevel": "X"}).nsfw_level == 8
    assert parse_image({"url": "u", "nsfwLevel": "Weird"}).nsfw_level is None


def test_tags() -> None:
    assert parse_tags(load_payload("06_tags.json")) == ["Pepe Larraz", "comic book", "style"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Rent", ("Rent",)),
        (["Image", "RentCivit", "Rent", "Sell"], ("Image", "RentCivit", "Rent", "Sell")),
        ("{Image,RentCivit}", ("Image", "RentCivit")),
        ("{}", ()),
        ("None", ()),
        (None, ()),
        (42, ()),
    ],
)
def test_allow_commercial_use_shapes(value: object, expected: tuple[str, ...]) -> None:
    assert parse_commercial_use(value) == expected
    assert parse_model({"id": 1, "allowCommercialUse": value}).allow_commercial_use == expected


def test_wild_shapes_do_not_crash() -> None:
    model = parse_model(
        {
            "id": "7",
            "name": "x",
            "type": "SomeFutureType",
            "mode": "Archived",
            "stats": None,
            "creator": None,
            "tags": None,
            "modelVersions": [
                {
                    "id": 8,
                    "baseModel": "Flux.9 Q",
                    "createdAt": "not a date",
                    "earlyAccessEndsAt": "2026-01-02T03:04:05Z",
                    "trainedWords": ["  a ", "", None],
                    "files": [
                        {"name": "f", "sizeKB": 1.5, "metadata": None, "hashes": None, "type": "Newer"}
                    ],
                    "images": [{"url": "u", "meta": {}}],
                },
                "garbage",
            ],
        }
    )
    assert model.id == 7
    assert model.type == "SomeFutureType"
    assert model.mode == "Archived"
    assert model.stats.downloads is None
    version = model.versions[0]
    assert version.model_id == 7
    assert version.created_at is None
    assert version.early_access_ends_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert version.trained_words == ("a",)
    assert version.files[0].size_bytes == 1536
    assert version.files[0].hashes == {}
    assert version.images[0].meta is None
    assert version.images[0].prompt is None
    assert parse_model({"id": 1}).type == "Other"


def test_hashes_normalised_to_uppercase() -> None:
    file = parse_file({"hashes": {"sha256": "ab" * 32, "AutoV2": "abcdef0123", "crc32": None}})
    assert file.hashes == {"SHA256": "AB" * 32, "AUTOV2": "ABCDEF0123"}
    assert file.sha256 == "AB" * 32


def test_records_without_ids_are_rejected_or_skipped() -> None:
    with pytest.raises(RecordError):
        parse_model({"name": "no id"})
    with pytest.raises(RecordError):
        parse_version([])
    with pytest.raises(RecordError):
        parse_search_page({"metadata": None})
    page = parse_search_page({"items": [{"id": 1}, {"name": "no id"}], "metadata": None})
    assert [m.id for m in page.items] == [1]
    assert page.next_cursor is None
    assert [v.id for v in parse_versions([{"id": 5}, {"x": 1}])] == [5]


def test_parse_datetime() -> None:
    assert parse_datetime("2023-04-11T15:33:12.500Z") == datetime(2023, 4, 11, 15, 33, 12, 500000, tzinfo=UTC)
    assert parse_datetime("2023-04-11T15:33:12") == datetime(2023, 4, 11, 15, 33, 12, tzinfo=UTC)
    assert parse_datetime(None) is None
    assert parse_datetime(12) is None


def test_absurd_ids_and_counts_are_dropped_not_stored() -> None:
    # A payload (or a sidecar that copies one) with an id of 40 digits or a count past 64 bits must not
    # fail the catalog row that stores it, nor a 5,000-digit string make int() raise.
    from core.sources.civitai_records import integer_or_none

    assert integer_or_none("12345") == 12345
    assert integer_or_none(2**63 - 1) == 2**63 - 1
    assert integer_or_none(2**63) is None
    assert integer_or_none("9" * 40) is None
    assert integer_or_none("9" * 5000) is None
    assert integer_or_none(float("inf")) is None
    assert integer_or_none(1e300) is None
    assert integer_or_none(True) is None
    assert integer_or_none("-7") == -7
