"""Benchmark: how long a command takes from the shell, against ``python -c pass`` in the same run.

Each command is run as a user runs it, ``python main.py ...`` in a fresh interpreter (so imports count),
timed from spawn to exit, interleaved with the baseline so the machine's load weighs on both alike:

* ``main.py --help`` — target <= 5x ``python -c pass``;
* ``main.py inspect LORA`` on a small real kohya LoRA (SD1, fp16) — target <= 8x;
* ``main.py search WORD`` and ``main.py show ID`` on a catalog of 10,000 models (``--rows``) — target
  <= 0.25 s each (their ratio to the baseline is printed too);
* with ``--server``, the same ``search`` and ``show`` on the same catalog copied into a PostgreSQL server
  (``--catalog postgresql://...``, a throwaway cluster of ``tests.pg_server`` started for the run, the
  password given once and read from the profile's secrets as a user's run reads it) — the same target,
  <= 0.25 s each (``server-search``, ``server-show``).

Besides wall-clock time each line gives the CPU time (user + system) of the process: on a machine busy
with other work the wall-clock time mostly measures the wait for a core, the CPU time much less so, so it
is the closer estimate of the same command on a quiet machine. Python writes its bytecode cache as on a
user's machine (``bench.user_env``), and an untimed round warms it first.

``--compare PATH`` runs the same command lines of another checkout (e.g. a ``git worktree`` of an older
commit) in the same rounds and prints its figures and new/old ratios beside them.

    python -m bench.bench_cli [--rows 10000] [--runs 7] [--server] [--compare /tmp/old] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.bench_search import build
from bench.user_env import user_env
from catalog.library import Library

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"help": 5.0, "inspect": 8.0}  # ratios to `python -c pass`
TARGET_SECONDS = {"search": 0.25, "show": 0.25, "server-search": 0.25, "server-show": 0.25}


def _write_lora(path: Path) -> Path:
    """A small kohya LoRA (SD1 text encoder and UNet attention, rank 4, fp16), written by hand."""
    specs: dict[str, tuple[int, ...]] = {}
    for block in range(3):
        for proj, width in (("to_q", 320), ("to_k", 768), ("to_v", 768), ("to_out_0", 320)):
            name = f"lora_unet_down_blocks_{block}_attentions_0_transformer_blocks_0_attn2_{proj}"
            specs[f"{name}.lora_down.weight"] = (4, width)
            specs[f"{name}.lora_up.weight"] = (320, 4)
            specs[f"{name}.alpha"] = ()
    for layer in range(12):
        name = f"lora_te_text_model_encoder_layers_{layer}_self_attn_q_proj"
        specs[f"{name}.lora_down.weight"] = (4, 768)
        specs[f"{name}.lora_up.weight"] = (768, 4)
        specs[f"{name}.alpha"] = ()
    header: dict[str, object] = {"__metadata__": {"ss_output_name": "bench-lora"}}
    offset = 0
    for name, shape in specs.items():
        size = 2
        for dim in shape:
            size *= dim
        header[name] = {"dtype": "F16", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(offset))
    return path


def _seconds(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall-clock seconds from spawn to exit, and the CPU seconds (user + system) the process used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command,
        check=False,
        cwd=cwd,
        env=user_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[1:])} failed ({done.returncode}): {done.stderr.strip()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@contextmanager
def _server_catalog(catalog: Path, data_dir: Path) -> Iterator[str]:
    """``catalog`` copied into a database of a throwaway PostgreSQL server; yields its URL without the
    password, which the profile ``data_dir`` keeps in its secrets (as ``--catalog`` with the password
    once leaves it)."""
    from app.secrets import TokenStore
    from catalog.catalog_copy import copy_catalog
    from catalog.catalog_url import create_server_engine, parse, secret_key, split_password
    from catalog.db import create_catalog_engine
    from tests import pg_server

    bin_dir = pg_server.find_bin_dir()
    if bin_dir is None:
        raise SystemExit("--server: PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    cluster = pg_server.start(bin_dir, shared_buffers="128MB")
    try:
        location = parse(cluster.create_database(f"cli_{uuid.uuid4().hex[:8]}"))
        assert location.url is not None
        source, target = create_catalog_engine(catalog), create_server_engine(location.url)
        copy_catalog(source, target)
        source.dispose()
        target.dispose()
        bare, password = split_password(location.url)
        assert password is not None
        TokenStore(data_dir, use_keyring=False).set(secret_key(bare), password)
        (data_dir / "settings.json").write_text(json.dumps({"first_start_done": True}))
        yield bare.set(drivername="postgresql").render_as_string(hide_password=False)
    finally:
        pg_server.stop(cluster)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--compare", type=Path, help="another checkout to time in the same rounds")
    parser.add_argument("--server", action="store_true", help="also time search and show on PostgreSQL")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="atelier-bench-cli-") as tmp, ExitStack() as stack:
        data_dir = Path(tmp) / "profile"
        library = Library.open(data_dir / "catalog.sqlite3")
        _, names = build(library, Path(tmp) / "models", args.rows, seed=1)
        middle = library.get(args.rows // 2)
        assert middle is not None, "the catalog has no row in the middle"
        library.close()
        (data_dir / "settings.json").write_text(json.dumps({"first_start_done": True}))
        lora = _write_lora(Path(tmp) / "bench-lora.safetensors")
        word = names[0].replace("-", " ").replace("_", " ").split()[0]
        lines = {
            "help": ["--help"],
            "inspect": ["--data-dir", str(data_dir), "inspect", str(lora)],
            "search": ["--data-dir", str(data_dir), "search", word],
            "show": ["--data-dir", str(data_dir), "show", str(middle.id)],
        }
        if args.server:
            server_dir = Path(tmp) / "server-profile"
            url = stack.enter_context(_server_catalog(data_dir / "catalog.sqlite3", server_dir))
            on_server = ["--data-dir", str(server_dir), "--catalog", url]
            lines["server-search"] = [*on_server, "search", word]
            lines["server-show"] = [*on_server, "show", str(middle.id)]
        trees = {"new": ROOT, **({"old": args.compare.resolve()} if args.compare else {})}
        env_python = [sys.executable]
        for name in ("ATELIER_DATA_DIR", "ATELIER_CATALOG_URL"):
            os.environ.pop(name, None)
        times: dict[str, dict[str, list[tuple[float, float]]]] = {
            tree: {name: [] for name in lines} for tree in trees
        }
        baseline: list[tuple[float, float]] = []
        for cwd in trees.values():  # warm the OS caches and the byte-code of both
            for line in lines.values():
                _seconds([*env_python, "main.py", *line], cwd)
        for _ in range(args.runs):
            baseline.append(_seconds([*env_python, "-c", "pass"], ROOT))
            for tree, cwd in trees.items():
                for name, line in lines.items():
                    times[tree][name].append(_seconds([*env_python, "main.py", *line], cwd))

    base, base_cpu = _medians(baseline)
    result: dict[str, object] = {
        "rows": args.rows,
        "runs": args.runs,
        "load_average": os.getloadavg()[0],
        "python_c_pass_s": round(base, 4),
        "python_c_pass_cpu_s": round(base_cpu, 4),
    }
    for tree in trees:
        figures: dict[str, dict[str, float]] = {}
        for name, values in times[tree].items():
            wall, cpu = _medians(values)
            figures[name] = {
                "s": round(wall, 4),
                "ratio": round(wall / base, 2),
                "cpu_s": round(cpu, 4),
                "cpu_ratio": round(cpu / base_cpu, 2),
            }
        result[tree] = figures
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"python -c pass: {base:.3f} s wall, {base_cpu:.3f} s CPU (medians of {args.runs}); "
        f"catalog of {args.rows} models; load average {os.getloadavg()[0]:.2f}"
    )
    for name in lines:
        wall, cpu = _medians(times["new"][name])
        target = f"target <= {TARGETS[name]}x" if name in TARGETS else f"target <= {TARGET_SECONDS[name]} s"
        text = (
            f"{name:8} {wall:.3f} s, ratio {wall / base:.2f} to python -c pass; "
            f"CPU {cpu:.3f} s, ratio {cpu / base_cpu:.2f}  ({target})"
        )
        if "old" in times:
            old_wall, old_cpu = _medians(times["old"][name])
            text += (
                f"\n         old {old_wall:.3f} s (ratio {old_wall / base:.2f}), CPU {old_cpu:.3f} s; "
                f"new/old ratio {wall / old_wall:.2f} wall, {cpu / old_cpu:.2f} CPU"
            )
        print(text)


def _medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


if __name__ == "__main__":
    main()
