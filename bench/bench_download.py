"""Benchmark: the download engine against curl on the same loopback file, and the cost of a SIGKILL.

Run as ``python -m bench.bench_download [--size-mib 1024] [--chunk-mib 1]``.

Two questions:

1. Is the engine held back by its own code? ``ratio = t_curl / t_ours`` for the same file from the same
   loopback server in the same run (target >= 0.9). Ours also computes SHA-256 while downloading, checks it,
   fsyncs and renames; curl only writes. Best of ``--runs`` each, alternating, after ``sync`` so neither
   side pays for the other's page-cache writeback.
2. Does a crash cost a re-download? A subprocess downloads the file, is SIGKILLed at about 50%, and the
   download is resumed in-process. Printed: bytes the server sent beyond the file size, in chunks (target
   <= 1 chunk). Bytes the server wrote into a socket the killed process never read count as re-fetched.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from multiprocessing.connection import Connection
from pathlib import Path

from catalog.download_store import SqlDownloadStore
from core.downloads import Downloader, DownloadRequest
from core.net import make_session
from tests.fakes.file_server import Fault, serve_files

MIB = 1 << 20
BLOCK_MIB = 16
TARGET_RATIO = 0.9
ROOT = Path(__file__).resolve().parents[1]


def write_test_file(path: Path, size_mib: int) -> str:
    """``size_mib`` MiB of incompressible data (one random block, repeated); returns its SHA-256."""
    block = os.urandom(BLOCK_MIB * MIB)
    sha = hashlib.sha256()
    with path.open("wb") as file:
        left = size_mib * MIB
        while left:
            piece = block[: min(left, len(block))]
            file.write(piece)
            sha.update(piece)
            left -= len(piece)
    return sha.hexdigest()


def time_curl(url: str, out: Path) -> float:
    out.unlink(missing_ok=True)
    os.sync()  # neither side pays for writing back the other's dirty pages
    started = time.perf_counter()
    subprocess.run(["curl", "-s", "-f", "-o", str(out), url], check=True)
    return time.perf_counter() - started


def time_ours(engine: Downloader, url: str, target: Path, size: int, sha: str) -> float:
    shutil.rmtree(target, ignore_errors=True)
    download_id = engine.enqueue(DownloadRequest(url, target, expected_size=size, expected_sha256=sha))
    os.sync()
    started = time.perf_counter()
    engine.run_one(download_id)
    return time.perf_counter() - started


def kill_at_half(url: str, work: Path, size: int, sha: str, chunk: int) -> tuple[int, int]:
    """Download in a subprocess, SIGKILL it at ~50%, resume here: (bytes kept in the .part, final size)."""
    db = work / "kill.db"
    store = SqlDownloadStore.open(db)
    engine = Downloader(make_session(retries=0), store, chunk_size=chunk)
    target = work / "kill"
    shutil.rmtree(target, ignore_errors=True)
    download_id = engine.enqueue(DownloadRequest(url, target, expected_size=size, expected_sha256=sha))
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(ROOT)!r})
        from catalog.download_store import SqlDownloadStore
        from core.downloads import Downloader
        from core.net import make_session
        store = SqlDownloadStore.open(Path({str(db)!r}))
        engine = Downloader(make_session(retries=0), store, chunk_size={chunk})
        engine.run_one({download_id})
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    part: Path | None = None
    try:
        while child.poll() is None:
            part = engine.get(download_id).part_path
            if part is not None and part.exists() and part.stat().st_size >= size // 2:
                break
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    kept = part.stat().st_size if part is not None and part.exists() else 0
    engine.resume(download_id)
    final = engine.run_one(download_id)
    store.close()
    final_size = final.stat().st_size
    final.unlink()
    return kept, final_size


def _serve(conn: Connection, source: str) -> None:
    """The file server in its own process: in ours it would share the GIL with the engine it measures."""
    with serve_files() as (server, state):
        state.add("/big.bin", Path(source))
        state.add("/kill.bin", Path(source))
        state.add("/kill-paced.bin", Path(source), Fault(trickle=(256 * 1024, 0.001)))
        conn.send(server.base_url)
        while (path := conn.recv()) is not None:
            conn.send(state.total_sent(path))


def _kill_run(conn: Connection, base: str, path: str, work: Path, *, size: int, sha: str, chunk: int) -> None:
    before = _ask(conn, path)
    kept, final_size = kill_at_half(f"{base}{path}", work, size, sha, chunk)
    extra = _ask(conn, path) - before - size
    print(
        f"kill at ~50% ({path}): .part kept {kept / size:.1%}; final file {final_size} bytes, hash verified; "
        f"server sent {extra} bytes beyond the file size = {extra / chunk:.2f} chunk(s) (target <= 1)"
    )


def _ask(conn: Connection, path: str) -> int:
    conn.send(path)
    return int(conn.recv())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each, alternating; best counts")
    args = parser.parse_args(argv)
    chunk = args.chunk_mib * MIB
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="atelier-bench-dl-") as tmp:
        work = Path(tmp)
        source = work / "served.bin"
        print(f"writing a {args.size_mib} MiB test file...")
        sha = write_test_file(source, args.size_mib)
        conn, child_conn = multiprocessing.Pipe()
        # fork where there is one: the parent has no threads yet, and the child needs no re-import.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        server = multiprocessing.get_context(method).Process(target=_serve, args=(child_conn, str(source)))
        server.start()
        try:
            if not conn.poll(60):
                raise RuntimeError("the file server process did not start")
            base = str(conn.recv())
            url = f"{base}/big.bin"
            store = SqlDownloadStore.open(work / "bench.db")
            engine = Downloader(make_session(), store, chunk_size=chunk)
            curl = shutil.which("curl")
            ours_times: list[float] = []
            curl_times: list[float] = []
            for _ in range(args.runs):
                ours_times.append(time_ours(engine, url, work / "ours", size, sha))
                if curl:
                    curl_times.append(time_curl(url, work / "curl.bin"))
                (work / "curl.bin").unlink(missing_ok=True)
            store.close()
            shutil.rmtree(work / "ours", ignore_errors=True)
            ours = min(ours_times)
            print(f"ours (sha256 + verify + fsync + rename): {ours:.2f} s, {size / MIB / ours:.0f} MiB/s")
            if curl:
                best = min(curl_times)
                print(f"curl -s -o:                              {best:.2f} s, {size / MIB / best:.0f} MiB/s")
                ratio = best / ours
                verdict = "OK" if ratio >= TARGET_RATIO else "below target"
                print(f"ratio curl_time / our_time = {ratio:.2f} (target >= {TARGET_RATIO}: {verdict})")
            else:
                print("curl not found: skipped the curl comparison")
            # Full speed: the kernel's loopback socket buffers (several MiB) hold bytes the server has sent
            # and the killed process never read. Paced: what the engine itself loses (at most one read).
            _kill_run(conn, base, "/kill.bin", work, size=size, sha=sha, chunk=chunk)
            _kill_run(conn, base, "/kill-paced.bin", work, size=size, sha=sha, chunk=chunk)
        finally:
            conn.send(None)
            server.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
