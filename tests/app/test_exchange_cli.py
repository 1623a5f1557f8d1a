"""``export`` on one machine, ``import`` on another: user data arrives, a missing file is downloaded.

Two data dirs stand for two machines. The first has an embedding (with the user's tags, notes, rating)
and a LoRA downloaded from the loopback Civitai; the second has only a copy of the embedding, with an
edit of its own that the import must keep. The commands run through the CLI's entry point in this process
(:mod:`tests.app.in_process`).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.context import AppContext
from catalog.records import UserDataChanges
from tests.app.download_sites import VERSION_ID, Sites, loopback_sites
from tests.app.in_process import run_in_process
from tests.factory.safetensors_writer import write_safetensors


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Sites]:
    with loopback_sites(tmp_path) as made:
        yield made


def run(sites: Sites, data: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_in_process(*args, env=sites.env, data_dir=data, check=check)


def _second_machine(tmp_path: Path, embedding: Path) -> Path:
    root = tmp_path / "machine-b" / "stable-diffusion-webui"
    (root / "models" / "Stable-diffusion").mkdir(parents=True)
    (root / "webui.py").write_text("")
    (root / "embeddings").mkdir()
    (root / "embeddings" / "bad-hands.safetensors").write_bytes(embedding.read_bytes())
    return root


@pytest.fixture
def first_machine(sites: Sites, tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data-a"
    embedding = write_safetensors(
        sites.root / "embeddings" / "bad-hands.safetensors", {"emb_params": ("F32", (4, 768))}, seed=4
    )
    run(sites, data, "scan", str(sites.root), "--no-lookup")
    run(sites, data, "download", f"civitai:{VERSION_ID}")
    context = AppContext(data)
    try:
        library = context.library
        emb = library.get_by_path(embedding)
        lora = library.get_by_path(sites.root / "models" / "Lora" / "pixel_art.safetensors")
        assert emb is not None
        assert lora is not None
        library.update_user_data(
            emb.id,
            UserDataChanges(display_name="Bad hands", notes="use at 0.8", rating=5, tags=("fix", "hands")),
        )
        library.update_user_data(
            lora.id, UserDataChanges(tags=("pixel",), collections=("Retro",), favorite=True)
        )
    finally:
        context.close()
    return data, embedding


@pytest.mark.slow
def test_json_round_trip_brings_user_data_and_downloads_the_missing_file(
    sites: Sites, tmp_path: Path, first_machine: tuple[Path, Path]
) -> None:
    data_a, embedding = first_machine
    listing = tmp_path / "library.json"
    exported = json.loads(run(sites, data_a, "export", str(listing), "--json").stdout)
    assert exported == {"path": str(listing), "format": "json", "count": 2}
    document = json.loads(listing.read_text(encoding="utf-8"))
    lora_row = next(row for row in document["assets"] if row["file_name"] == "pixel_art.safetensors")
    assert lora_row["civitai_version_id"] == str(VERSION_ID)
    assert lora_row["sha256"] == hashlib.sha256(sites.lora).hexdigest().upper()
    assert lora_row["collections"] == ["Retro"]

    data_b = tmp_path / "data-b"
    root_b = _second_machine(tmp_path, embedding)
    run(sites, data_b, "scan", str(root_b), "--no-lookup")
    context = AppContext(data_b)
    try:
        local = context.library.get_by_path(root_b / "embeddings" / "bad-hands.safetensors")
        assert local is not None
        context.library.update_user_data(local.id, UserDataChanges(rating=2, tags=("mine",)))
    finally:
        context.close()

    report = json.loads(run(sites, data_b, "import", str(listing), "--json").stdout)

    assert [m["file_name"] for m in report["matched"]] == ["bad-hands.safetensors"]
    assert report["missing"] == [
        {
            "file_name": "pixel_art.safetensors",
            "sha256": lora_row["sha256"],
            "size": len(sites.lora),
            "download_target": f"civitai:{VERSION_ID}:{lora_row['civitai_file_id']}",
        }
    ]
    shown = json.loads(run(sites, data_b, "show", str(local.id), "--json").stdout)
    assert shown["display_name"] == "Bad hands"
    assert shown["notes"] == "use at 0.8"
    assert shown["rating"] == 2  # the edit made here is kept
    assert shown["tags"] == ["mine", "fix", "hands"]

    again = run(sites, data_b, "import", str(listing), "--download-missing", "--yes", "--json")

    downloaded = json.loads(again.stdout)["downloads"]
    assert [d["error"] for d in downloaded] == [None]
    path = Path(downloaded[0]["path"])
    assert path == root_b / "models" / "Lora" / "pixel_art.safetensors"
    assert path.read_bytes() == sites.lora
    arrived = json.loads(run(sites, data_b, "show", str(downloaded[0]["asset_id"]), "--json").stdout)
    assert arrived["collections"] == ["Retro"]
    assert arrived["favorite"] is True
    assert json.loads(again.stdout)["updated_asset_ids"] == []  # the second import changed nothing


@pytest.mark.slow
def test_csv_round_trip_and_the_offer_to_download(
    sites: Sites, tmp_path: Path, first_machine: tuple[Path, Path]
) -> None:
    data_a, embedding = first_machine
    listing = tmp_path / "library.csv"
    assert run(sites, data_a, "export", str(listing)).stdout.startswith("Exported 2 files to")
    assert listing.read_text(encoding="utf-8").splitlines()[0].startswith("file_name,kind,architecture")

    data_b = tmp_path / "data-b"
    root_b = _second_machine(tmp_path, embedding)
    run(sites, data_b, "scan", str(root_b), "--no-lookup")

    result = run(sites, data_b, "import", str(listing))

    lines = result.stdout.splitlines()
    assert lines[0] == (
        "1 of 2 rows in the list is in this library; 1 file missing, 1 of them can be downloaded from "
        "Civitai or Hugging Face; user data added to 1 file here"
    )
    assert lines[1].startswith(f"  missing: pixel_art.safetensors  (civitai:{VERSION_ID}:")
    assert lines[2] == "Add --download-missing to download the 1 file that has a link."
    shown = json.loads(
        run(sites, data_b, "show", str(root_b / "embeddings/bad-hands.safetensors"), "--json").stdout
    )
    assert shown["tags"] == ["fix", "hands"]
    assert shown["rating"] == 5

    refused = run(sites, data_b, "import", str(listing), "--download-missing", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "atelier import: nothing downloaded: add --yes to download the missing files without asking"
    )


def test_a_file_that_is_no_list_is_one_line(sites: Sites, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.json"
    bogus.write_text('{"hello": 1}', encoding="utf-8")
    result = run(sites, tmp_path / "data", "import", str(bogus), check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'atelier import: notes.json is not an Atelier library list (no "format": "atelier-library-list")'
    )
    garbage = tmp_path / "bad.json"
    garbage.write_text("garbage\n", encoding="utf-8")
    broken = run(sites, tmp_path / "data", "import", str(garbage), check=False)
    assert broken.returncode == 1
    assert broken.stderr.strip() == (
        "atelier import: bad.json is not a library list: line 1: Expecting value (it is not valid JSON)"
    )
    wrong = run(sites, tmp_path / "data", "export", str(tmp_path / "list.txt"), check=False)
    assert (
        wrong.stderr.strip()
        == "atelier export: list.txt: name the file .csv or .json, or give --format csv|json"
    )


@pytest.mark.slow
def test_download_missing_into_a_chosen_library_folder_uses_its_kind_folder(
    sites: Sites, tmp_path: Path, first_machine: tuple[Path, Path]
) -> None:
    data_a, embedding = first_machine
    listing = tmp_path / "library.json"
    run(sites, data_a, "export", str(listing))
    data_b = tmp_path / "data-b"
    plain = tmp_path / "machine-b" / "plain"
    plain.mkdir(parents=True)
    run(sites, data_b, "scan", str(plain), "--no-lookup")  # the first library folder: a plain one
    webui = _second_machine(tmp_path, embedding)
    run(sites, data_b, "scan", str(webui), "--no-lookup")

    result = run(
        sites, data_b, "import", str(listing), "--download-missing", "--yes", "--to", str(webui), "--json"
    )

    (download,) = json.loads(result.stdout)["downloads"]
    assert download["error"] is None
    assert Path(download["path"]) == webui / "models" / "Lora" / "pixel_art.safetensors"
    assert list(plain.iterdir()) == []


def test_a_bad_whole_number_cell_is_named_in_plain_words(sites: Sites, tmp_path: Path) -> None:
    """``size`` or ``rating`` that is no whole number: one line with the column and the value as typed,
    not Python's ``invalid literal for int()`` text."""
    cases = {"abc": "size must be a whole number, not 'abc'", "2.5": None}
    listing = tmp_path / "v.csv"
    listing.write_text(f"file_name,sha256,size\nx.safetensors,{'AB' * 32},abc\n", encoding="utf-8")
    result = run(sites, tmp_path / "data", "import", str(listing), check=False)
    assert result.returncode == 1
    assert result.stderr == f"atelier import: v.csv, line 2: {cases['abc']}\n"

    listing.write_text("file_name,rating\nx.safetensors,2.5\n", encoding="utf-8")
    result = run(sites, tmp_path / "data", "import", str(listing), check=False)
    assert result.returncode == 1
    assert result.stderr == (
        "atelier import: v.csv, line 2: rating must be a whole number from 0 to 5, not '2.5'\n"
    )


def test_the_counts_are_of_rows_and_repeated_rows_are_said_apart(sites: Sites, tmp_path: Path) -> None:
    """A list of 7 rows against a library holding 3 of its files: the rows are counted (each once, the
    total is every row), the files they match here and the rows repeating a file of the list said apart."""
    folder = tmp_path / "plain"
    files = [
        write_safetensors(folder / f"m{n}.safetensors", {"w": ("F32", (4, 4 + n))}, seed=n) for n in range(3)
    ]
    data = tmp_path / "data"
    run(sites, data, "scan", str(folder), "--no-lookup")
    shas = [hashlib.sha256(path.read_bytes()).hexdigest() for path in files]
    gone = "CD" * 32
    rows = [
        ("m0.safetensors", shas[0]),
        ("m0-copy-there.safetensors", shas[0]),  # a copy on the other machine: matched, repeated
        ("m1.safetensors", shas[1]),
        ("m2.safetensors", shas[2]),
        ("gone.safetensors", gone),
        ("gone-copy.safetensors", gone),  # missing, repeated: one file to fetch
        ("other.safetensors", "EF" * 32),
    ]
    listing = tmp_path / "list.csv"
    listing.write_text(
        "file_name,sha256\n" + "".join(f"{name},{sha}\n" for name, sha in rows), encoding="utf-8"
    )

    result = run(sites, data, "import", str(listing))

    assert result.stdout.splitlines()[0] == (
        "4 of 7 rows in the list are in this library (3 files here); 2 files missing, 0 of them can be "
        "downloaded from Civitai or Hugging Face; 2 rows repeat a file listed above (a copy on the other "
        "machine); user data added to 0 files here"
    )
    report = json.loads(run(sites, data, "import", str(listing), "--json").stdout)
    assert (len(report["matched"]), report["rows"], report["repeated_rows"]) == (4, 7, 2)


def test_a_row_repeated_word_for_word_is_not_called_a_copy_on_the_other_machine(
    sites: Sites, tmp_path: Path
) -> None:
    """The outside tester's list repeated a row verbatim and import called it "a copy on the other
    machine": a row the same in every cell is the list repeating itself, said as such; a row of the same
    file under another name stays a copy. A missing row repeated verbatim is one file to fetch."""
    folder = tmp_path / "plain"
    here = write_safetensors(folder / "m0.safetensors", {"w": ("F32", (4, 4))}, seed=0)
    data = tmp_path / "data"
    run(sites, data, "scan", str(folder), "--no-lookup")
    sha = hashlib.sha256(here.read_bytes()).hexdigest()
    gone = "CD" * 32
    rows = [
        ("m0.safetensors", sha),
        ("m0.safetensors", sha),  # the same row again
        ("m0-copy-there.safetensors", sha),  # a copy on the other machine
        ("gone.safetensors", gone),
        ("gone.safetensors", gone),  # the same missing row again
    ]
    listing = tmp_path / "list.csv"
    listing.write_text(
        "file_name,sha256\n" + "".join(f"{name},{row_sha}\n" for name, row_sha in rows), encoding="utf-8"
    )

    result = run(sites, data, "import", str(listing))

    assert result.stdout.splitlines()[0] == (
        "3 of 5 rows in the list are in this library (1 file here); 1 file missing, 0 of them can be "
        "downloaded from Civitai or Hugging Face; 1 row repeats a file listed above (a copy on the other "
        "machine); 2 rows repeat an earlier row word for word; user data added to 0 files here"
    )
    report = json.loads(run(sites, data, "import", str(listing), "--json").stdout)
    assert (report["repeated_rows"], report["verbatim_rows"], len(report["missing"])) == (3, 2, 1)


@pytest.mark.slow
def test_a_matched_import_carries_the_links_and_the_architecture_override_over(
    sites: Sites, tmp_path: Path, first_machine: tuple[Path, Path]
) -> None:
    """The list's Civitai ids become this file's link (``updates`` knows its model without a lookup) and
    its architecture override is set where this library has none; one made here stays."""
    data_a, _ = first_machine
    lora_a = str(sites.root / "models" / "Lora" / "pixel_art.safetensors")
    run(sites, data_a, "set", lora_a, "--arch", "sdxl")
    listing = tmp_path / "library.csv"
    run(sites, data_a, "export", str(listing))
    data_b = tmp_path / "data-b"
    lora_dir = tmp_path / "machine-b" / "loras"
    lora_dir.mkdir(parents=True)
    (lora_dir / "pixel_art.safetensors").write_bytes(sites.lora)
    (lora_dir / "mine.safetensors").write_bytes(sites.lora)
    run(sites, data_b, "scan", str(lora_dir), "--no-lookup")
    run(sites, data_b, "set", str(lora_dir / "mine.safetensors"), "--arch", "sd2")

    result = run(sites, data_b, "import", str(listing))

    assert "user data added to 2 files here" in result.stdout
    shown = json.loads(run(sites, data_b, "show", str(lora_dir / "pixel_art.safetensors"), "--json").stdout)
    assert shown["architecture_override"] == "sdxl"
    assert shown["architecture"] == "sdxl"
    (link,) = shown["remote_links"]
    assert (link["site"], link["version_id"], link["model_id"]) == ("civitai", str(VERSION_ID), "910001")
    mine = json.loads(run(sites, data_b, "show", str(lora_dir / "mine.safetensors"), "--json").stdout)
    assert mine["architecture_override"] == "sd2"  # the user's word here is kept
    assert [link["model_id"] for link in mine["remote_links"]] == ["910001"]
    again = run(sites, data_b, "import", str(listing))
    assert "user data added to 0 files here" in again.stdout  # importing twice changes nothing


def _listed_lora(sites: Sites, tmp_path: Path, data_a: Path) -> tuple[Path, Path, Path]:
    """Machine B with the LoRA (no lookup yet) and machine A's list imported: a Civitai link of ids."""
    listing = tmp_path / "library.csv"
    run(sites, data_a, "export", str(listing))
    data_b = tmp_path / "data-b"
    lora_dir = tmp_path / "machine-b" / "loras"
    lora_dir.mkdir(parents=True)
    lora = lora_dir / "pixel_art.safetensors"
    lora.write_bytes(sites.lora)
    run(sites, data_b, "scan", str(lora_dir), "--no-lookup")
    run(sites, data_b, "import", str(listing))
    (link,) = _links(sites, data_b, lora)
    assert (link["version_id"], link["trigger_words"], link["payload"]) == (str(VERSION_ID), [], {})
    return data_b, lora_dir, lora


def _links(sites: Sites, data: Path, path: Path) -> list[dict[str, object]]:
    shown = json.loads(run(sites, data, "show", str(path), "--json").stdout)
    links: list[dict[str, object]] = shown["remote_links"]
    return links


@pytest.mark.slow
def test_an_imported_civitai_link_is_filled_by_the_next_lookup(
    sites: Sites, tmp_path: Path, first_machine: tuple[Path, Path]
) -> None:
    """The list's ids do not stop the lookup: ``enrich`` brings Civitai's facts into that link."""
    data_b, _, lora = _listed_lora(sites, tmp_path, first_machine[0])

    result = run(sites, data_b, "enrich")

    assert "Looked up 1 file on Civitai in 1 request: 1 found" in result.stdout, result.stdout
    (link,) = _links(sites, data_b, lora)
    assert (link["version_id"], link["base_model_label"]) == (str(VERSION_ID), "SD 1.5")
    assert link["trigger_words"] == ["pixel art"]
    assert link["payload"]


@pytest.mark.slow
def test_a_copy_hashed_after_an_import_is_looked_up_with_the_original(
    sites: Sites, tmp_path: Path, first_machine: tuple[Path, Path]
) -> None:
    """Hashing a copy does not hand it the list's empty link; the lookup after hashing answers both."""
    data_b, lora_dir, lora = _listed_lora(sites, tmp_path, first_machine[0])
    copy = lora_dir / "copy.safetensors"
    copy.write_bytes(sites.lora)
    run(sites, data_b, "scan", "--no-hash", "--no-lookup")

    run(sites, data_b, "hash")

    for path in (lora, copy):
        (link,) = _links(sites, data_b, path)
        assert (link["version_id"], link["trigger_words"]) == (str(VERSION_ID), ["pixel art"]), path
