"""Benchmark: HTTP requests needed to enrich 1,000 hashed files from Civitai.

1,000 cataloged, hashed files; the loopback Civitai knows 300 of them (spread over 30 models). Target:
<= 10 lookup calls (the by-hash endpoint takes 100 SHA256 per POST). Printed as the ratio of calls to
the target, with the /models?ids= requests that fetch the matches' tags counted separately.

    python -m bench.bench_enrich [--files 1000] [--json]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_search import make_file
from catalog.enrich import enrich
from catalog.library import Library
from core.file_hashes import FileHashes
from core.net import make_session
from core.sources.civitai import CivitaiClient
from core.taxonomy import LibraryLayout
from tests.fakes.civitai_api import CivitaiState, fake_civitai, load_payload

TARGET_CALLS = 10


def _hashes(index: int) -> FileHashes:
    sha = hashlib.sha256(f"file-{index}".encode()).hexdigest().upper()
    return FileHashes(sha256=sha, blake3=sha, crc32=sha[:8], autov1=sha[:8], autov2=sha[:10], autov3=sha)


def _civitai_state(known: list[str], models: int) -> CivitaiState:
    template: dict[str, Any] = load_payload("04_models_modelId.json")
    state = CivitaiState()
    per_model = -(-len(known) // models)
    for m in range(models):
        model = copy.deepcopy(template)
        model["id"] = 500_000 + m
        version = model["modelVersions"][0]
        version_template = copy.deepcopy(version)
        model["modelVersions"] = []
        for v, sha in enumerate(known[m * per_model : (m + 1) * per_model]):
            item = copy.deepcopy(version_template)
            item.update(id=600_000 + m * 1000 + v, modelId=model["id"], images=[])
            item["files"] = [{**item["files"][0], "hashes": {"SHA256": sha}}]
            model["modelVersions"].append(item)
        state.add_model(model)
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(0)

    with tempfile.TemporaryDirectory(prefix="atelier-bench-enrich-") as tmp:
        library = Library.open(Path(tmp) / "catalog.sqlite3")
        root = library.add_root(Path(tmp) / "models", LibraryLayout.FLAT)
        ids = library.apply_scan_batch(
            root.id, [make_file(rng, i, str(Path(tmp) / "models")) for i in range(args.files)]
        )
        for index, asset_id in enumerate(ids):
            library.set_hashes(asset_id, _hashes(index))
        known = [_hashes(i).sha256 for i in range(0, args.files, max(1, args.files // 300))][:300]
        state = _civitai_state(known, models=30)
        with fake_civitai(state) as server:
            client = CivitaiClient(make_session(retries=1), server.base_url)
            started = time.perf_counter()
            summary = enrich(library, client)
            elapsed = time.perf_counter() - started
        library.close()

    result = {
        "files": args.files,
        "matched": summary.matched,
        "lookup_calls": summary.requests,
        "model_calls": summary.model_requests,
        "calls_vs_target": round(summary.requests / TARGET_CALLS, 2),
        "seconds": round(elapsed, 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"enrich {args.files} files ({summary.matched} known to Civitai): {summary.requests} lookup calls, "
        f"target <= {TARGET_CALLS}: ratio {result['calls_vs_target']}; plus {summary.model_requests} "
        f"/models?ids= calls for tags; {elapsed:.2f} s on loopback"
    )


if __name__ == "__main__":
    main()
