"""``search --base-model`` on the library, through the CLI's entry point, on real SDXL LoRAs whose labels
come from Civitai Helper's sidecars and from ``set --base-label``; and the site-only options a library
search refuses instead of ignoring (the whole library shown as the answer to a filter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.in_process import run_in_process
from tests.app.main_process import run_main
from tests.factory.civitai_info import civitai_helper_payload, write_civitai_helper_info
from tests.factory.models import kohya_lora, write_case


def _labelled_library(tmp_path: Path) -> Path:
    """Four SDXL LoRAs: Pony and Illustrious by Civitai's sidecar, NoobAI by the user, one unlabelled;
    returns the data folder."""
    folder = tmp_path / "models" / "Lora"
    folder.mkdir(parents=True)
    lora = write_case(kohya_lora("sdxl"), folder)
    for name, label in (("pony_style", "Pony"), ("illu_style", "Illustrious"), ("noob_style", "SDXL 1.0")):
        path = folder / f"{name}.safetensors"
        path.write_bytes(lora.read_bytes())
        write_civitai_helper_info(path, civitai_helper_payload(model_name=name, base_model=label))
    lora.rename(folder / "plain.safetensors")
    data_dir = tmp_path / "data"
    run_in_process("scan", str(folder.parent), "--no-hash", data_dir=data_dir, check=True)
    run_in_process(
        "set", str(folder / "noob_style.safetensors"), "--base-label", "NoobAI", data_dir=data_dir, check=True
    )
    return data_dir


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The labelled library, built once for the tests that only search it."""
    return _labelled_library(tmp_path_factory.mktemp("labelled"))


@pytest.fixture
def own_data(tmp_path: Path) -> Path:
    """The labelled library, built for one test that changes labels."""
    return _labelled_library(tmp_path)


def found(data: Path, *options: str) -> list[str]:
    result = run_in_process("search", *options, "--json", data_dir=data, check=True)
    return sorted(item["file_name"] for item in json.loads(result.stdout))


def test_base_model_filters_the_library_by_the_effective_label(data: Path) -> None:
    assert len(found(data)) == 4
    assert found(data, "--base-model", "pony") == ["pony_style.safetensors"]
    # The user's label replaced Civitai's "SDXL 1.0".
    assert found(data, "--base-model", "NoobAI") == ["noob_style.safetensors"]
    assert found(data, "--base-model", "SDXL 1.0") == []
    both = found(data, "--base-model", "Pony", "--base-model", "ILLUSTRIOUS")
    assert both == ["illu_style.safetensors", "pony_style.safetensors"]
    text = run_in_process("search", "style", "--base-model", "Pony", data_dir=data, check=True).stdout
    assert text.splitlines()[-1] == "1 of 1 shown"


def test_a_label_no_file_has_names_the_labels_the_library_has(data: Path) -> None:
    result = run_in_process("search", "--base-model", "Ponyy", data_dir=data)
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "0 of 0 shown",
        "Base-model labels in the library: Illustrious, NoobAI, Pony",
    ]


@pytest.mark.parametrize(
    ("option", "site"),
    [
        (("--type", "LORA"), "search civitai"),
        (("--sort", "Newest"), "search civitai` / `search hf"),
        (("--period", "Week"), "search civitai"),
        (("--nsfw",), "search civitai"),
        (("--user", "someone"), "search civitai` / `search hf"),
        (("--cursor", "abc"), "search civitai"),
    ],
)
def test_site_only_options_are_refused_on_a_library_search(
    data: Path, option: tuple[str, ...], site: str
) -> None:
    result = run_in_process("search", "pony", *option, data_dir=data)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"atelier search: {option[0]} is for `{site}`, not for a library search\n"


def test_through_main_py_a_site_option_is_a_usage_error_and_the_help_says_both(data: Path) -> None:
    result = run_main("search", "--base-model", "Pony", "--type", "LORA", data_dir=data)
    assert (result.returncode, result.stdout) == (2, "")
    assert "--type is for `search civitai`" in result.stderr
    assert "Traceback" not in result.stderr
    shown = run_main("search", "--base-model", "Pony", data_dir=data)
    assert shown.returncode == 0
    assert shown.stdout.splitlines()[-1] == "1 of 1 shown"
    usage = " ".join(run_main("search", "--help", data_dir=data).stdout.split())
    assert "library: files whose base-model label is this" in usage
    assert "Civitai: the base model, e.g. 'SDXL 1.0'" in usage


def test_a_non_ascii_label_in_two_cases_is_offered_as_the_filter_tells_them_apart(own_data: Path) -> None:
    """ "Éclair" and "éclair": the database folds only ASCII case, so the filter finds each spelling's
    file alone; the labels offered (the hint here, the window's combo) are the same two choices, each
    finding its file (before: offered as one "Éclair" that found one of the two files)."""
    folder = own_data.parent / "models" / "Lora"
    for name, label in (("pony_style", "Éclair"), ("illu_style", "éclair")):
        run_in_process(
            "set", str(folder / f"{name}.safetensors"), "--base-label", label, data_dir=own_data, check=True
        )

    hint = run_in_process("search", "--base-model", "Ponyy", data_dir=own_data).stdout.splitlines()[-1]

    offered = hint.removeprefix("Base-model labels in the library: ").split(", ")
    assert sorted(offered) == ["NoobAI", "Éclair", "éclair"]
    assert found(own_data, "--base-model", "Éclair") == ["pony_style.safetensors"]
    assert found(own_data, "--base-model", "éclair") == ["illu_style.safetensors"]
    assert found(own_data, "--base-model", "ÉCLAIR") == ["pony_style.safetensors"], "ASCII case still folds"
