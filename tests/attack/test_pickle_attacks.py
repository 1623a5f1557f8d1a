"""Hostile pickles against Atelier's reader: nothing runs, nothing exhausts memory, every label holds.

Every payload of ``pickle_corpus`` is tried in every container torch reads and under every model name;
Atelier must call each unsafe (corrupt is accepted only where torch itself cannot load the payload) and
its marker must never appear. To prove the payloads are real, one child process ``torch.load``s them
with ``weights_only=False`` and the markers do appear there. Bombs run in a child process under a 1 GiB
address-space limit and must be refused within 2 s and 300 MB. Benign real-world shapes, written by
torch in the same child, must stay ok.

torch is never imported here (it runs payloads, and the import rule keeps it in core/render).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from core.formats.model_file import CorruptFileError, FormatError, UnreadableFileError, UnsafeFileError
from core.formats.reader import read_header
from tests.app.main_process import run_main
from tests.attack.pickle_corpus import (
    CONTAINERS,
    PAYLOADS,
    SUFFIXES,
    TRUNCATING,
    Payload,
    benign_tar,
    benign_zip,
    bombs,
    torch_reaches,
)
from tests.attack.report import record

ROOT = Path(__file__).resolve().parents[2]

# Run in a child: writes the benign files with torch.save, then torch.loads every payload file.
_TORCH_CHILD = r"""
import contextlib, io, json, sys, time
from pathlib import Path
spec = json.loads(Path(sys.argv[1]).read_text())
import torch
from tests.factory import files
from tests.factory.keyspaces import keyspace
benign = Path(spec["benign_dir"])
written = [
    files.write_a1111_embedding(benign / "emb-zip.pt"),
    files.write_a1111_embedding(benign / "emb-legacy.pt", legacy=True),
    files.write_a1111_embedding(benign / "emb-pdict.pt", parameter_dict=True),
    files.write_a1111_embedding(benign / "emb-pdict-legacy.pt", legacy=True, parameter_dict=True),
    files.write_a1111_hypernetwork(benign / "hn-zip.pt"),
    files.write_a1111_hypernetwork(benign / "hn-legacy.pt", legacy=True),
    files.write_learned_embeds_bin(benign / "learned_embeds.bin"),
    files.write_lightning_checkpoint(benign / "sd1.ckpt", keyspace("sd1-ldm", dtype="F16")),
    files.write_lightning_checkpoint(
        benign / "sd1-legacy.ckpt", keyspace("sd1-ldm", dtype="F16"), legacy=True
    ),
    files.save_torch(
        benign / "numpy-extras.pt", {"w": torch.zeros(3), "loss": __import__("numpy").float64(0.5)}
    ),
]
scripted = torch.jit.script(torch.nn.Linear(2, 2))
torch.jit.save(scripted, str(benign / "torchscript.pt"))  # torch.load runs it as TorchScript
tar = torch.load(spec["tar"], weights_only=False)
old_tar = torch.load(spec["tar_sys_info"], weights_only=False)
hand_zip = torch.load(spec["zip"], weights_only=True)
results = {
    "tar_shape": list(tar["string_to_param"]["*"].shape),
    "tar_sys_info_shape": list(old_tar["string_to_param"]["*"].shape),
    "zip_shape": list(hand_zip["w"].shape),
    "benign": [str(p) for p in written],
}
outcomes = {}
for path in spec["load"]:
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            torch.load(path, weights_only=False)
        outcomes[path] = "loaded"
    except BaseException as exc:
        outcomes[path] = type(exc).__name__
results["outcomes"] = outcomes
time.sleep(0.5)  # payloads that start a process (os.popen, asyncio) create their marker a moment later
Path(spec["out"]).write_text(json.dumps(results))
"""


def _label(path: Path) -> str:
    try:
        read_header(path)
    except UnsafeFileError:
        return "unsafe"
    except CorruptFileError:
        return "corrupt"
    except FormatError:
        return "unreadable"
    return "ok"


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One child process: benign files written by torch, and every payload torch.loaded."""
    work = tmp_path_factory.mktemp("torch-control")
    (work / "benign").mkdir()
    controls: list[tuple[Payload, str, Path, Path]] = []
    for index, payload in enumerate(PAYLOADS):
        for container in [name for name in CONTAINERS if torch_reaches(payload, name)]:
            marker = work / f"marker-{index}-{container.replace(' ', '_')}"
            path = work / f"payload-{index}-{container.replace(' ', '_')}.pt"
            path.write_bytes(CONTAINERS[container][0](payload.build(marker)))
            controls.append((payload, container, path, marker))
    tar = work / "benign.tar.pt"
    tar.write_bytes(benign_tar())
    old_tar = work / "benign-sys-info.tar.pt"
    old_tar.write_bytes(benign_tar(sys_info=True))
    hand_zip = work / "benign.zip.pt"
    hand_zip.write_bytes(benign_zip())
    spec = {
        "benign_dir": str(work / "benign"),
        "tar": str(tar),
        "tar_sys_info": str(old_tar),
        "zip": str(hand_zip),
        "load": [str(path) for _, _, path, _ in controls],
        "out": str(work / "out.json"),
    }
    (work / "spec.json").write_text(json.dumps(spec))
    subprocess.run(
        [sys.executable, "-c", _TORCH_CHILD, str(work / "spec.json")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=True,
    )
    results: dict[str, Any] = json.loads((work / "out.json").read_text())
    results["controls"] = controls
    return results


def test_every_payload_runs_under_torch_load(torch_run: dict[str, Any]) -> None:
    """Positive control: the payloads are real - torch.load(weights_only=False) executes each of them."""
    missing = [
        f"{payload.name} in {container} ({torch_run['outcomes'][str(path)]})"
        for payload, container, path, marker in torch_run["controls"]
        if not marker.exists()
    ]

    assert missing == []
    assert len(torch_run["controls"]) >= 150


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.name for p in PAYLOADS])
def test_payload_is_unsafe_in_every_container_and_name(tmp_path: Path, payload: Payload) -> None:
    marker = tmp_path / "MARKER"
    labels: dict[str, str] = {}
    allowed: dict[str, set[str]] = {}
    for container, (build, _torch_reaches) in CONTAINERS.items():
        data = build(payload.build(marker))
        for suffix in SUFFIXES:
            path = tmp_path / f"{container.replace(' ', '_')}{suffix}"
            path.write_bytes(data)
            where = f"{container} {suffix}"
            labels[where] = _label(path)
            # corrupt is the truth only where torch itself cannot load the payload at all
            unloadable = not payload.torch_runs or (container in TRUNCATING and not payload.runs_when_cut)
            allowed[where] = {"unsafe", "corrupt"} if unloadable else {"unsafe"}
            path.unlink()
    wrong = {where: label for where, label in labels.items() if label not in allowed[where]}
    record(
        "pickles",
        tried=len(labels),
        executed=int(marker.exists()),
        flagged=sum(label == "unsafe" for label in labels.values()),
    )

    assert wrong == {}
    assert not marker.exists()


def test_benign_real_world_shapes_stay_ok(torch_run: dict[str, Any], tmp_path: Path) -> None:
    benign = [Path(p) for p in torch_run["benign"]]
    # A TorchScript archive is a program torch.load runs (torch.jit.load): never ok.
    assert _label(benign[0].parent / "torchscript.pt") == "unsafe"
    tar = tmp_path / "old-embedding.pt"
    tar.write_bytes(benign_tar())
    old_tar = tmp_path / "torch-0.3-embedding.pt"  # with the sys_info member torch 0.1-0.3 wrote
    old_tar.write_bytes(benign_tar(sys_info=True))
    hand_zip = tmp_path / "hand-written.pt"
    hand_zip.write_bytes(benign_zip())
    benign += [hand_zip, tar, old_tar]
    labels = {path.name: _label(path) for path in benign}
    record(
        "benign pickles (must stay ok)",
        tried=len(labels),
        false_positives=sum(label != "ok" for label in labels.values()),
    )

    assert labels == dict.fromkeys(labels, "ok")
    assert torch_run["tar_shape"] == [2, 3]  # torch reads our hand-written layouts as we do
    assert torch_run["tar_sys_info_shape"] == [2, 3]
    assert read_header(old_tar).tensors["string_to_param.*"].shape == (2, 3)
    assert torch_run["zip_shape"] == [2, 3]
    assert read_header(tar).tensors["string_to_param.*"].shape == (2, 3)
    assert len(read_header(next(p for p in benign if p.name == "sd1.ckpt")).tensors) == 1130


_BOMB_CHILD = r"""
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from pathlib import Path
from core.formats.model_file import CorruptFileError, UnsafeFileError
from core.formats.reader import read_header
import core.formats.pickle_reader  # loaded up front: the timings are of refusals, not imports
from tests.attack.pickle_corpus import bombs
work = Path(sys.argv[1])

def peak_rss():
    # VmHWM starts afresh with this program; ru_maxrss may carry the forking parent's peak.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

out = []
for index, bomb in enumerate(bombs()):
    path = work / f"bomb-{index}.pt"
    path.write_bytes(bomb.data)
    started = time.perf_counter()
    try:
        read_header(path)
        label, reason = "ok", ""
    except UnsafeFileError as exc:
        label, reason = "unsafe", exc.reason
    except CorruptFileError as exc:
        label, reason = "corrupt", exc.reason
    except MemoryError:
        label, reason = "memory error", ""
    seconds = time.perf_counter() - started
    rss = peak_rss()
    out.append({"name": bomb.name, "size": len(bomb.data), "label": label, "reason": reason,
                "seconds": seconds, "peak_rss": rss})
print(json.dumps(out))
"""


def test_bombs_are_refused_quickly_in_little_memory(tmp_path: Path) -> None:
    """Each bomb runs under a 1 GiB address-space limit; the peak RSS of the whole run stays < 300 MB."""
    done = subprocess.run(
        [sys.executable, "-c", _BOMB_CHILD, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    results = json.loads(done.stdout)
    expected = {bomb.name: bomb.exhausts for bomb in bombs()}

    def refused(result: dict[str, Any]) -> bool:
        if expected[result["name"]]:
            return result["label"] == "unsafe" and "resource exhaustion" in result["reason"]
        return result["label"] in {"unsafe", "corrupt"}

    wrong = [r for r in results if not refused(r)]
    small = [r for r in results if r["size"] <= 1024]
    record(
        "pickle bombs",
        tried=len(results),
        flagged=sum(r["label"] in {"unsafe", "corrupt"} for r in results),
        hangs=sum(r["seconds"] >= 2 for r in results),
    )

    assert wrong == []
    assert len(small) >= 10
    assert max(r["seconds"] for r in results) < 2
    assert max(r["peak_rss"] for r in results) < 300 * 1024 * 1024


def test_inspect_reports_payloads_unsafe_through_main(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    payload = next(p for p in PAYLOADS if p.name == "builtins.exec")
    paths = []
    for container in ("raw", "zip", "legacy", "tar", "zip duplicate name"):
        for suffix in (".ckpt", ".safetensors"):
            path = tmp_path / f"{container.replace(' ', '_')}{suffix}"
            path.write_bytes(CONTAINERS[container][0](payload.build(marker)))
            paths.append(str(path))
    benign = tmp_path / "old-embedding.pt"
    benign.write_bytes(benign_tar())

    done = run_main("inspect", "--json", *paths, str(benign), data_dir=tmp_path / "data", timeout=60)
    items = json.loads(done.stdout)

    assert {item["path"]: item["status"] for item in items} == {
        **dict.fromkeys(paths, "unsafe"),
        str(benign): "ok",
    }
    assert not marker.exists()


def test_a_fifo_named_like_a_model_is_unreadable_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            read_header(fifo)
            outcome.append(None)
        except BaseException as exc:  # the assertion below names it
            outcome.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(5)

    assert outcome
    assert isinstance(outcome[0], UnreadableFileError)
    assert "named pipe" in str(outcome[0])
