"""Benchmark: organize by template — the plan for 10,000 cataloged files, and applying moves vs ``mv``.

1. **Plan.** A generated 10,000-file A1111 library (``bench.library_generator``: real layouts and
   headers) is scanned, a third of the files are given a Civitai link (model, version, creator, base
   label) and tags, then ``plan_template`` plans
   ``{kind_folder}/{architecture}/{base_label}/{creator}/{model_name}`` over all of them: catalog reads,
   template rendering, one listing per source folder, link checks of the target folders and a
   "taken?" check per target. Target: <= 1 s (the ratio printed is seconds / target: below 1 is met).
2. **Apply vs mv.** Two identical trees of small real model files (some with a ``.civitai.info`` and a
   preview) on the same file system. One is cataloged and organized by ``apply_template`` (the journaling
   engine: a step written before each move, the catalog row updated with it, sidecars along). The other
   gets the same moves from ``mv`` run as a subprocess, one ``mv`` per model with its sidecars (the same
   count of moves, the same layout), after one ``mkdir -p`` of the target folders. Target: ours at
   least half as fast (ratio = mv seconds / ours >= 0.5). Also printed: the ratio against the fewest
   possible ``mv`` calls (one per target folder), the floor of any tool.

    python -m bench.bench_organize [--rows 10000] [--moves 2000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from app.organize.template_plan import apply_template, plan_template
from bench.library_generator import generate_library
from catalog.library import Library
from catalog.records import AssetQuery, RemoteMatch, UserDataChanges
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from tests.factory.civitai_info import civitai_helper_payload
from tests.factory.files import tiny_png
from tests.factory.safetensors_writer import write_safetensors

TARGET_PLAN_S = 1.0
TARGET_APPLY_RATIO = 0.5
PLAN_TEMPLATE = "{kind_folder}/{architecture}/{base_label}/{creator}/{model_name}"
APPLY_TEMPLATE = "{kind}/{architecture}/{folder}"
BASE_LABELS = ("SD 1.5", "SDXL 1.0", "Pony", "Illustrious", "NoobAI", None)


def _link_a_third(library: Library, rng: random.Random) -> int:
    """Civitai links (names, creator, base label) and tags for a third of the files, as a lookup would."""
    linked = 0
    for record in library.search_ids(AssetQuery()):
        if rng.random() > 1 / 3:
            continue
        model_id = rng.randrange(1, 400_000)
        library.record_remote_match(
            record,
            RemoteMatch(
                site="civitai",
                model_id=str(model_id),
                version_id=str(model_id * 3),
                model_name=f"Model {model_id} “{rng.choice(('Anime', 'Photo', 'Pixel'))}”",
                version_name=f"v{rng.randrange(1, 9)}.0",
                base_model_label=rng.choice(BASE_LABELS),
                creator=f"creator{rng.randrange(300)}",
                tags=(f"tag{rng.randrange(50)}",),
            ),
        )
        if rng.random() < 0.3:
            library.update_user_data(record, UserDataChanges(tags=(f"mine{rng.randrange(20)}",), rating=4))
        linked += 1
    return linked


def bench_plan(tmp: Path, rows: int) -> dict[str, Any]:
    root = tmp / "plan" / "stable-diffusion-webui"
    started = time.perf_counter()
    generate_library(root, rows)
    library = Library.open(tmp / "plan" / "data" / "catalog.sqlite3")
    record = library.add_root(root, LibraryLayout.A1111)
    Scanner(library).scan([record.id])
    linked = _link_a_third(library, random.Random(1))
    setup_s = time.perf_counter() - started
    timings: list[float] = []
    planned = None
    for _ in range(3):
        started = time.perf_counter()
        planned = plan_template(library, PLAN_TEMPLATE)
        timings.append(time.perf_counter() - started)
    library.close()
    assert planned is not None
    best = min(timings)
    return {
        "rows": planned.considered,
        "linked": linked,
        "setup_s": round(setup_s, 1),
        "plan_first_s": round(timings[0], 3),
        "plan_median_s": round(statistics.median(timings), 3),
        "plan_best_s": round(best, 3),
        "plan_moves": planned.plan.move_count,
        "plan_conflicts": planned.plan.conflict_count,
        "plan_unchanged": len(planned.plan.unchanged),
        "plan_vs_target": round(statistics.median(timings) / TARGET_PLAN_S, 2),
    }


def _small_tree(root: Path, count: int) -> None:
    """``count`` small real model files in 20 folders; a quarter with Civitai Helper's ``.civitai.info``,
    a third with a preview."""
    info = json.dumps(civitai_helper_payload())
    png = tiny_png()
    for index in range(count):
        model = root / f"incoming{index % 20}" / f"model{index:05d}.safetensors"
        sdxl = index % 3 == 0
        specs = (
            {"clip_l": ("F16", (1, 768)), "clip_g": ("F16", (1, 1280))}
            if sdxl
            else {"emb_params": ("F32", (1, 768))}
        )
        write_safetensors(model, specs, seed=index)
        if index % 4 == 0:
            model.with_name(f"{model.stem}.civitai.info").write_text(info, encoding="utf-8")
        if index % 3 == 0:
            model.with_name(f"{model.stem}.preview.png").write_bytes(png)


def bench_apply(tmp: Path, moves: int) -> dict[str, Any]:
    ours_root, mv_root = tmp / "apply" / "ours", tmp / "apply" / "mv"
    _small_tree(ours_root, moves)
    shutil.copytree(ours_root, mv_root)
    library = Library.open(tmp / "apply" / "data" / "catalog.sqlite3")
    library.add_root(ours_root.resolve(), LibraryLayout.FLAT)
    Scanner(library).scan()
    planned = plan_template(library, APPLY_TEMPLATE)
    plan = planned.plan
    assert plan.move_count == moves, (plan.move_count, plan.conflicts[:3])

    # The same moves for the mv tree, relative paths carried over.
    ours = ours_root.resolve()
    per_model: list[tuple[list[str], str]] = []
    folders: set[str] = set()
    by_folder: dict[str, list[str]] = defaultdict(list)
    for move in plan.moves:
        sources = [str(mv_root / p.relative_to(ours)) for p, _ in move.pairs()]
        target = str(mv_root / move.target.parent.relative_to(ours))
        per_model.append((sources, target))
        folders.add(target)
        by_folder[target].extend(sources)
    os.sync()

    started = time.perf_counter()
    result = apply_template(library, planned)
    ours_s = time.perf_counter() - started
    library.close()
    assert result.done == moves, result
    assert not result.failed, result

    started = time.perf_counter()
    subprocess.run(["mkdir", "-p", *sorted(folders)], check=True)
    for sources, target in per_model:
        subprocess.run(["mv", "-t", target, *sources], check=True)
    mv_s = time.perf_counter() - started

    # The floor: the same files back, then the fewest mv calls (one per target folder).
    shutil.rmtree(mv_root)
    _small_tree(mv_root, moves)
    os.sync()
    started = time.perf_counter()
    subprocess.run(["mkdir", "-p", *sorted(folders)], check=True)
    for target, sources in by_folder.items():
        subprocess.run(["mv", "-t", target, *sources], check=True)
    batched_s = time.perf_counter() - started

    return {
        "moves": moves,
        "files_moved": plan.file_count,
        "ours_s": round(ours_s, 3),
        "ours_moves_per_s": round(moves / ours_s, 1),
        "mv_per_model_s": round(mv_s, 3),
        "mv_per_folder_s": round(batched_s, 3),
        "ratio_vs_mv": round(mv_s / ours_s, 2),
        "ratio_vs_batched_mv": round(batched_s / ours_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--moves", type=int, default=2_000)
    parser.add_argument("--only", choices=("plan", "apply"), help="run one of the two benchmarks")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="atelier-bench-organize-") as tmp:
        if args.only != "apply":
            result["plan"] = bench_plan(Path(tmp), args.rows)
            if not args.json:
                _print_plan(result["plan"])
        if args.only != "plan":
            result["apply"] = bench_apply(Path(tmp), args.moves)
            if not args.json:
                _print_apply(result["apply"])
    if args.json:
        print(json.dumps(result, indent=2))


def _print_plan(plan: dict[str, Any]) -> None:
    print(
        f"library: {plan['rows']} files cataloged, {plan['linked']} linked to Civitai ({plan['setup_s']} s)"
    )
    print(
        f"plan {PLAN_TEMPLATE}: {plan['plan_median_s']} s median of 3 (first {plan['plan_first_s']} s); "
        f"{plan['plan_moves']} moves, {plan['plan_conflicts']} conflicts, {plan['plan_unchanged']} in place; "
        f"target <= {TARGET_PLAN_S} s: ratio {plan['plan_vs_target']}",
        flush=True,
    )


def _print_apply(apply: dict[str, Any]) -> None:
    print(
        f"apply {apply['moves']} moves ({apply['files_moved']} files with sidecars): "
        f"ours {apply['ours_s']} s ({apply['ours_moves_per_s']} moves/s); "
        f"mv per model {apply['mv_per_model_s']} s: "
        f"ratio {apply['ratio_vs_mv']} (target >= {TARGET_APPLY_RATIO})"
    )
    print(
        f"  floor: mv per target folder {apply['mv_per_folder_s']} s: ratio {apply['ratio_vs_batched_mv']}",
        flush=True,
    )


if __name__ == "__main__":
    main()
