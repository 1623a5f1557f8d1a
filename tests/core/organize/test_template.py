"""Templates: parsing with one clear error, rendering in users' words, names every file system takes."""

from __future__ import annotations

import os

import pytest

from core.errors import AtelierError
from core.organize.template import (
    COMPANION_SUFFIX_ROOM,
    FIELDS,
    TemplateError,
    TemplateFacts,
    fields_help,
    parse_template,
    sanitize_name,
)

LORA = TemplateFacts(
    file_name="detail_tweaker.safetensors",
    kind="LoRA",
    kind_folder="models/Lora",
    architecture="SD 1.x",
    base_label="SD 1.5",
    creator="OedoSoldier",
    model_name="Detail Tweaker LoRA",
    version_name="v1.0",
    site="Civitai",
    model_id="58390",
    version_id="62833",
    hash8="ABCDEF01",
    autov2="ABCDEF0123",
    rating="4",
    folder="old/place",
)


def render(template: str, facts: TemplateFacts = LORA) -> str:
    return "/".join(parse_template(template).render(facts))


def test_the_example_template_names_folders_and_keeps_the_file_name() -> None:
    assert (
        render("{kind}/{architecture}/{base_label}/{creator}/{model_name}")
        == "LoRA/SD 1.x/SD 1.5/OedoSoldier/Detail Tweaker LoRA/detail_tweaker.safetensors"
    )


def test_empty_values_leave_their_folder_out_and_defaults_fill_in() -> None:
    bare = TemplateFacts(file_name="mystery.safetensors", kind="LoRA", architecture="SDXL")
    assert render("{kind}/{creator}/{base_label}/{architecture}", bare) == "LoRA/SDXL/mystery.safetensors"
    assert render("{kind}/{creator|unknown}", bare) == "LoRA/unknown/mystery.safetensors"
    # model_name falls back to the file's stem, so every file gets a folder of its own name
    assert render("{model_name}", bare) == "mystery/mystery.safetensors"


def test_the_last_part_renames_the_file_when_it_uses_file_name_or_ext() -> None:
    assert render("{kind}/{model_name} {version_name}.{ext}") == "LoRA/Detail Tweaker LoRA v1.0.safetensors"
    assert render("{kind}/{model_name} - {file_name}") == (
        "LoRA/Detail Tweaker LoRA - detail_tweaker.safetensors"
    )
    folder = TemplateFacts(file_name="juggernaut-xl", kind="Checkpoint", is_folder=True)
    assert render("{kind}/{file_name}.{ext}", folder) == "Checkpoint/juggernaut-xl"


def test_folder_keeps_its_sub_folders_and_values_never_add_one() -> None:
    assert render("{folder}/{kind}") == "old/place/LoRA/detail_tweaker.safetensors"
    slashed = TemplateFacts(
        file_name="vae.safetensors", model_name="stabilityai/sdxl-vae", site="Hugging Face"
    )
    assert render("{site}/{model_name}", slashed) == "Hugging Face/stabilityai_sdxl-vae/vae.safetensors"
    assert render("{folder}/x", TemplateFacts(file_name="a.pt")) == "x/a.pt"


def test_kind_folder_may_hold_several_levels() -> None:
    assert render("{kind_folder}/{creator}") == "models/Lora/OedoSoldier/detail_tweaker.safetensors"


def test_names_are_made_safe_for_windows_and_linux() -> None:
    weird = TemplateFacts(
        file_name="x.safetensors",
        creator='a<b>c:d"e|f?g*h\\i\x01',
        model_name="CON",
        version_name="end. . ",
        tag="nul.txt",
    )
    assert render("{creator}/{model_name}/{version_name}/{tag}", weird) == (
        "a_b_c_d_e_f_g_h_i_/CON_/end/nul_.txt/x.safetensors"
    )
    assert sanitize_name("  ..  ") == ""
    assert sanitize_name("LPT9") == "LPT9_"
    assert sanitize_name("COM10") == "COM10"


def test_no_name_a_template_makes_is_one_scans_skip() -> None:
    """A value starting with "." made a hidden folder or file: the next scan skipped it and the file left
    the library while still on disk. Leading dots go; a folder named as scans skip gets a ``_``."""
    dotted = TemplateFacts(
        file_name="x.safetensors",
        kind="LoRA",
        model_name=".hack style",
        creator="../../../escape",
        tag="venv",
    )
    assert render("{kind}/{model_name}/{creator}/{tag}", dotted) == (
        "LoRA/hack style/_.._.._escape/venv_/x.safetensors"
    )
    assert render("{kind}/{model_name}.{ext}", dotted) == "LoRA/hack style.safetensors"
    assert render("{kind}/{tag|.x}", TemplateFacts(file_name="x.pt")) == "x/x.pt"
    assert sanitize_name(". .profile") == "profile"
    assert sanitize_name("...", suffix="pt") == ""
    for typed in ("{kind}/.old", ".{kind}", "{kind}/.{file_name}.{ext}", "{kind}/..."):
        with pytest.raises(TemplateError, match="skip hidden files and folders"):
            parse_template(typed)


def test_unicode_is_nfc_and_long_names_are_cut_by_bytes_keeping_the_extension() -> None:
    decomposed = "Cafe\u0301"
    assert sanitize_name(decomposed) == "Caf\u00e9"
    long_name = "\u00e9" * 300  # 600 bytes
    folder = sanitize_name(long_name)
    assert len(folder.encode()) <= 255
    assert folder == "\u00e9" * 127
    file_name = sanitize_name("\u65e5" * 200, suffix="safetensors")
    assert file_name.endswith(".safetensors")
    assert len(file_name.encode()) <= 255
    stem = file_name[: -len(".safetensors")]
    assert len(stem.encode()) + COMPANION_SUFFIX_ROOM <= 255  # room for <stem>.metadata.json
    facts = TemplateFacts(file_name="x.safetensors", model_name="\U0001f3a8" * 100)
    renamed = parse_template("{model_name}.{ext}").render(facts)[-1]
    assert renamed.endswith(".safetensors")
    assert len(renamed.encode()) <= 255


def test_a_name_from_a_disk_that_is_not_utf8_keeps_its_bytes_and_is_cut_by_them() -> None:
    """Undecodable bytes arrive as lone surrogates (``os.fsdecode``): each is one byte on disk, kept."""
    latin1 = os.fsdecode(b"caf\xe9_\xff")
    assert sanitize_name(latin1, suffix="safetensors") == latin1 + ".safetensors"
    long_name = os.fsdecode(b"\xe9" * 300)  # 300 bytes on disk, one a character
    cut = sanitize_name(long_name)
    assert os.fsencode(cut) == b"\xe9" * 255


def test_a_bad_template_is_one_line_naming_what_is_wrong() -> None:
    with pytest.raises(TemplateError, match=r"unknown field \{creater\}.*did you mean \{creator\}"):
        parse_template("{kind}/{creater}")
    for text, wrong in (
        ("", "empty"),
        ("{kind", "without its '}'"),
        ("kind}", "without its '{'"),
        ("/abs/{kind}", "absolute"),
        ("C:/x/{kind}", "absolute"),
        ("{kind}/../{creator}", "'..'"),
        ("{}", "empty field"),
        ("{ext}/{kind}", "{ext} belongs in the last part"),
        ("{creator|a/b}", "separator"),
    ):
        with pytest.raises(TemplateError, match=wrong) as caught:
            parse_template(text)
        assert isinstance(caught.value, AtelierError)
        assert "\n" not in str(caught.value)


def test_braces_may_be_doubled_to_mean_themselves() -> None:
    assert render("{{{kind}}}") == "{LoRA}/detail_tweaker.safetensors"


def test_every_field_is_documented_and_renders() -> None:
    help_text = fields_help()
    for name in FIELDS:
        assert f"{{{name}}}" in help_text
        assert parse_template(f"x/{{{name}}}").render(LORA)[-1]
