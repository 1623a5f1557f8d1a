"""The translation between a machine's own paths and the catalog's canonical ones (catalog.machine_paths):
longest prefix, whole path components only, the other side's separators, Windows without case."""

from __future__ import annotations

from catalog.machine_paths import IDENTITY, PathMap, in_effect, read_path, write_path

NAS = "/mnt/nas/sd"


def test_a_path_below_a_mapped_folder_changes_its_folder_only() -> None:
    paths = PathMap.of([(NAS, "/Volumes/sd")])
    assert paths.to_local(f"{NAS}/Lora/a b.safetensors") == "/Volumes/sd/Lora/a b.safetensors"
    assert paths.to_canonical("/Volumes/sd/Lora/a b.safetensors") == f"{NAS}/Lora/a b.safetensors"
    assert paths.to_local(NAS) == "/Volumes/sd"


def test_only_whole_folder_names_match() -> None:
    paths = PathMap.of([(NAS, "/Volumes/sd")])
    assert paths.to_local("/mnt/nas/sd2/a.safetensors") == "/mnt/nas/sd2/a.safetensors"
    assert paths.to_canonical("/Volumes/sdx/a.safetensors") == "/Volumes/sdx/a.safetensors"
    assert paths.to_local("/elsewhere/a.safetensors") == "/elsewhere/a.safetensors"


def test_the_longest_mapped_folder_wins() -> None:
    paths = PathMap.of([(NAS, "/b/sd"), (f"{NAS}/Lora", "/fast/lora")])
    assert paths.to_local(f"{NAS}/Lora/x.safetensors") == "/fast/lora/x.safetensors"
    assert paths.to_local(f"{NAS}/VAE/x.safetensors") == "/b/sd/VAE/x.safetensors"
    assert paths.to_canonical("/fast/lora/x.safetensors") == f"{NAS}/Lora/x.safetensors"


def test_a_windows_machine_writes_backslashes_and_stores_the_canonical_slashes() -> None:
    paths = PathMap.of([(NAS, "Z:\\sd")])
    assert paths.to_local(f"{NAS}/Lora/a.safetensors") == "Z:\\sd\\Lora\\a.safetensors"
    assert paths.to_canonical("Z:\\sd\\Lora\\a.safetensors") == f"{NAS}/Lora/a.safetensors"
    # Windows compares names without case and takes either separator.
    assert paths.to_canonical("z:\\SD/Lora\\a.safetensors") == f"{NAS}/Lora/a.safetensors"


def test_a_folder_added_on_windows_is_reached_from_linux() -> None:
    paths = PathMap.of([("\\\\nas\\share\\sd", "/mnt/sd/")])
    assert paths.to_local("\\\\nas\\share\\sd\\Lora\\a.safetensors") == "/mnt/sd/Lora/a.safetensors"
    assert paths.to_canonical("/mnt/sd/Lora/a.safetensors") == "\\\\nas\\share\\sd\\Lora\\a.safetensors"


def test_a_folder_mapped_to_itself_costs_nothing() -> None:
    assert not PathMap.of([(NAS, NAS + "/")])
    assert IDENTITY.to_local(NAS) == NAS


def test_reads_and_writes_translate_only_inside_a_unit_of_work() -> None:
    paths = PathMap.of([(NAS, "/b/sd")])
    odd = "/b/sd/caf\udce9.safetensors"  # a name that is not UTF-8 keeps its bytes both ways
    with in_effect(paths):
        stored = write_path(odd)
        assert stored.startswith(f"{NAS}/caf")
        assert read_path(stored) == odd
    assert write_path("/b/sd/a.safetensors") == "/b/sd/a.safetensors"
