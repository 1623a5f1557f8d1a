"""scripts/qt_system_libs.sh: the packages a fresh Debian/Ubuntu needs for Qt's window, asked from ldd.

Checked against this machine's real PySide6 and dpkg: every system library the xcb plugin loads that the
script knows must map to the very package dpkg says provides it, and apt must know that package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "qt_system_libs.sh"
QT = next((ROOT / ".venv" / "lib").glob("python3*/site-packages/PySide6/Qt"), None)


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, check=True, cwd=ROOT)


def known_mapping() -> dict[str, list[str]]:
    text = SCRIPT.read_text()
    return {
        soname: packages.strip('"').split("|")
        for soname, packages in re.findall(r"^\s*\[([^\]]+)\]=(\S+)$", text, flags=re.MULTILINE)
    }


def test_missing_libraries_become_packages(tmp_path: Path) -> None:
    ldd = tmp_path / "ldd.txt"
    ldd.write_text(
        "\tlibxcb-icccm.so.4 => not found\n"
        "\tlibxcb-cursor.so.0 => not found\n"
        "\tlibxkbcommon-x11.so.0 => not found\n"
        "\tlibxcb-icccm.so.4 => not found\n"
        "\tlibsomething-new.so.2 => not found\n"
        "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0000000000)\n"
    )
    result = run_script("--ldd-output", str(ldd))
    assert result.stdout.split() == ["libxcb-cursor0", "libxcb-icccm4", "libxkbcommon-x11-0"]
    assert "libsomething-new.so.2" in result.stderr


@pytest.mark.skipif(QT is None, reason="PySide6 is not installed in .venv")
def test_nothing_is_missing_on_a_machine_that_opens_the_window() -> None:
    assert run_script().stdout == ""


@pytest.mark.skipif(QT is None or shutil.which("dpkg") is None, reason="needs PySide6 and dpkg")
def test_the_mapping_names_the_packages_dpkg_says_provide_the_xcb_plugins_libraries() -> None:
    assert QT is not None
    files = [QT / "plugins/platforms/libqxcb.so", QT / "lib/libQt6XcbQpa.so.6"]
    output = subprocess.run(["ldd", *map(str, files)], capture_output=True, text=True, check=True).stdout
    resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", output, flags=re.MULTILINE))
    mapping = known_mapping()
    system = r"lib(xcb|X11|Xau|Xdmcp|xkbcommon|EGL|GL|fontconfig|freetype|png|glib|gthread|dbus)"
    xcb_libraries = {name for name in resolved if re.match(system, name)}
    assert xcb_libraries <= set(mapping), "a library the xcb plugin loads has no package in the script"
    checked = sorted(set(resolved) & set(mapping))
    owners = dpkg_owners([resolved[soname] for soname in checked])
    for soname in checked:
        package = owners.get(resolved[soname])
        if package is None:  # installed outside dpkg: nothing to compare with
            continue
        assert package in mapping[soname], f"{soname} is in {package}; the script says {mapping[soname]}"
    packages = sorted(set(owners.values()))
    policy = subprocess.run(["apt-cache", "policy", *packages], capture_output=True, text=True, check=False)
    assert policy.stdout.count("Candidate:") == len(packages)
    assert "Candidate: (none)" not in policy.stdout
    known = ("libxcb-icccm4", "libxcb-keysyms1", "libxcb-image0", "libxcb-render-util0", "libxcb-cursor0")
    assert all(any(name in packages for packages in mapping.values()) for name in known)


def dpkg_owners(paths: list[str]) -> dict[str, str]:
    """The package owning each path (one dpkg call); merged /usr systems register /usr/lib for /lib."""
    spellings = {
        spelling: path for path in paths for spelling in (path, "/usr" + path, str(Path(path).resolve()))
    }
    listing = subprocess.run(["dpkg", "-S", *spellings], capture_output=True, text=True, check=False).stdout
    owners: dict[str, str] = {}
    for line in listing.splitlines():
        package, _, owned = line.partition(": ")
        if owned in spellings:
            owners[spellings[owned]] = package.split(":")[0]
    return owners
