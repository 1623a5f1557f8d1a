"""Benchmark: the download engine against curl on the same loopback file, and the cost of a SIGKILL.

Run as ``python -m bench.bench_download [--size-mib 1024] [--chunk-mib 1]``.

Three questions:

1. Does a download keep curl's pace? ``ratio = t_curl / t_ours`` for the same file (a safetensors
   container, like a model) from the same loopback server in the same run (target >= 0.9). Both end when
   the file is complete under its name in the page cache: the disk writes behind ours while it downloads
   (``core.download_body.WriteBehind``) and its final flush (``fdatasync`` of the file, ``fsync`` of its
   folder) runs behind the caller (``core.download_flush``), as curl leaves its file to the kernel. Ours
   also hashes while downloading: the SHA-256 in step with the bytes (checked before the rename), the
   catalog's BLAKE3, CRC32 and AutoV1/V3 following the file at the lowest CPU priority and finished
   behind the caller (``core.download_catalog_hashes``); curl computes none. Printed beside it:

   - ``download + every catalog hash``: the same run until ``take_file_hashes`` hands the catalog its
     hashes. On the 2-core dev machine, with the server on the same cores, two SHA-256 streams (the
     file's and AutoV3's data section) and BLAKE3 cost more CPU than curl spends on the whole download,
     so this one cannot keep curl's pace there; on a link slower than hashing it ends with the download.
   - ``hashing alone``: every hash of the same bytes read from the page cache (``core.hashing.hash_file``,
     the scanner's path): the CPU floor of the catalog's hashes.
   - ``ours, until on disk``: the same run timed until its final flush finished, against curl followed
     by an ``fsync`` of its file, and the disk alone (the same bytes written from memory and
     ``fsync``-ed, like ``dd conv=fdatasync``): where the disk is slower than loopback, it sets the pace of
     a durable download.

   Best of ``--runs`` each, alternating, after ``sync`` so neither side pays for the other's page-cache
   writeback.
2. What does the user wait for? ``download + catalog entry ready``: the app's download pipeline
   (``DownloadService.run``: download, verify, rename, then the ingest scans the library folder and
   records the file's hashes) into a library folder of a real catalog, against the same curl times.
3. Does a crash cost a re-download? A subprocess downloads the file, is SIGKILLed at about 50%, and the
   download is resumed in-process. Printed, in chunks, beyond the file size: the bytes that reached the
   client's side of the connection (acknowledged by its TCP: ``tcpi_bytes_acked``, Linux), target <= 1
   chunk. Bytes the kernel had received for the killed process but it never read count as re-fetched.
   Also printed: the bytes the server process wrote into its socket, which include what was still queued
   in the *server's* send buffer (up to ``net.ipv4.tcp_wmem``'s 4 MiB on loopback) and never left it; no
   client can lower that figure, so it is shown for comparison, not judged.
"""

from __future__ import annotations

import argparse
import array
import fcntl
import hashlib
import multiprocessing
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

from app.context import AppContext
from app.secrets import TokenStore
from catalog.download_store import SqlDownloadStore
from core.downloads import Downloader, DownloadRequest
from core.hashing import hash_file
from core.net import make_session
from tests.fakes.file_server import Fault, FileHandler, FileServerState
from tests.fakes.server import FakeServer

MIB = 1 << 20
BLOCK_MIB = 16
TARGET_RATIO = 0.9
ROOT = Path(__file__).resolve().parents[1]
_TCP_INFO_LEN = 232
_TCP_INFO_BYTES_ACKED = 120  # struct tcp_info: u64 tcpi_bytes_acked (Linux 4.1+)
_TCP_CLOSE = 7  # tcpi_state (the first byte of struct tcp_info) of a connection that was reset


class _DeliveredState(FileServerState):
    """The file server's state plus the bytes each path's connections got acknowledged by the client."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered: dict[str, int] = {}


class _DeliveryCountingHandler(FileHandler):
    """Counts, per request, the bytes the client's TCP acknowledged while it was answered (headers
    included, so the figure errs high by a few hundred bytes per request). Before counting, it waits
    until the socket's send queue has drained (or the peer reset it): what was still queued on the
    server's side never reached the client."""

    def handle_one_request(self) -> None:
        before = _acked(self.connection)
        try:
            super().handle_one_request()
        finally:
            if before is not None:
                self._count_delivered(before)

    def _count_delivered(self, before: int) -> None:
        _wait_until_sent(self.connection)
        after = _acked(self.connection)
        state = self.server.state
        if after is not None and after > before and isinstance(state, _DeliveredState):
            path = getattr(self, "path", "").split("?")[0]
            with state.lock:
                state.delivered[path] = state.delivered.get(path, 0) + after - before


def _acked(sock: socket.socket) -> int | None:
    """``tcpi_bytes_acked`` of ``sock``, or None where the kernel does not say (not Linux)."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_LEN)
        return int(struct.unpack_from("<Q", info, _TCP_INFO_BYTES_ACKED)[0])
    except (AttributeError, OSError, struct.error):
        return None


def _wait_until_sent(sock: socket.socket, within_s: float = 5.0) -> None:
    """Wait until nothing written to ``sock`` is unacknowledged (SIOCOUTQ is 0), or the peer is gone
    (the connection was reset: the queue is then dropped, never sent)."""
    deadline = time.monotonic() + within_s
    queued = array.array("i", [0])
    while time.monotonic() < deadline:
        try:
            if sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == _TCP_CLOSE:
                return
            fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, queued, True)
        except OSError:
            return
        if queued[0] == 0:
            return
        time.sleep(0.005)


@contextmanager
def _serve_counting() -> Iterator[tuple[FakeServer, _DeliveredState]]:
    state = _DeliveredState()
    server = FakeServer(_DeliveryCountingHandler, state)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), name="bench-files", daemon=True)
    thread.start()
    try:
        yield server, state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def write_test_file(path: Path, size_mib: int) -> str:
    """A safetensors file of ``size_mib`` MiB (one U8 tensor of incompressible data: one random block,
    repeated), so AutoV3's second SHA-256 stream is paid as for a real model; returns its SHA-256."""
    size = size_mib * MIB
    template = '{"weight":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}'
    header_length = len(template % (size, size)) + 8 - len(template % (size, size)) % 8
    payload = size - 8 - header_length
    raw = (template % (payload, payload)).encode().ljust(header_length)  # JSON may end in spaces
    head = struct.pack("<Q", header_length) + raw
    block = os.urandom(BLOCK_MIB * MIB)
    sha = hashlib.sha256(head)
    with path.open("wb") as file:
        file.write(head)
        left = payload
        while left:
            piece = block[: min(left, len(block))]
            file.write(piece)
            sha.update(piece)
            left -= len(piece)
    return sha.hexdigest()


def time_disk(out: Path, size: int) -> float:
    """The disk alone: ``size`` bytes written from memory, then ``fsync``-ed (``dd conv=fdatasync``)."""
    block = memoryview(bytes(BLOCK_MIB * MIB))
    out.unlink(missing_ok=True)
    os.sync()
    started = time.perf_counter()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        left = size
        while left:
            left -= os.write(fd, block[: min(left, len(block))])
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - started
    out.unlink()
    return elapsed


def time_curl(url: str, out: Path, *, durable: bool = False) -> float:
    """curl's time for ``url``; ``durable``: until its file is on disk too (curl, then ``fsync``)."""
    out.unlink(missing_ok=True)
    os.sync()  # neither side pays for writing back the other's dirty pages
    started = time.perf_counter()
    subprocess.run(["curl", "-s", "-f", "-o", str(out), url], check=True)
    if durable:
        fd = os.open(out, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    elapsed = time.perf_counter() - started
    out.unlink()
    return elapsed


def time_ours(engine: Downloader, url: str, target: Path, size: int, sha: str) -> tuple[float, float, float]:
    """Ours: (until ``run_one`` returns the verified, renamed file, until every catalog hash is done,
    until its final flush is done)."""
    shutil.rmtree(target, ignore_errors=True)
    download_id = engine.enqueue(DownloadRequest(url, target, expected_size=size, expected_sha256=sha))
    os.sync()
    started = time.perf_counter()
    engine.run_one(download_id)
    returned = time.perf_counter() - started
    hashes = engine.take_file_hashes(download_id)
    hashed = time.perf_counter() - started
    if hashes is None or hashes.sha256.lower() != sha:
        raise RuntimeError("the download handed over no hashes, or another SHA-256 than the file's")
    if not engine.final_flush.wait(timeout=600):
        raise RuntimeError("the final flush did not finish within 10 minutes")
    return returned, hashed, time.perf_counter() - started


def time_hashing(source: Path) -> float:
    """Every hash of ``source`` from the page cache, as the download computes them (the CPU floor)."""
    hash_file(source)  # in the page cache, like the served file the download reads from the socket
    started = time.perf_counter()
    hash_file(source)
    return time.perf_counter() - started


class _Pipeline:
    """The app's download pipeline into a library folder of a real catalog (``DownloadService.run``)."""

    def __init__(self, work: Path) -> None:
        self.context = AppContext(work / "profile", tokens=TokenStore(work / "tokens", use_keyring=False))
        self.library = work / "library"
        self.library.mkdir()
        self.root = self.context.library.add_root(self.library)
        self.context.scan([self.root.id])  # the scanner's imports are not part of a download
        self.runs = 0

    def time_ingested(self, url: str, size: int, sha: str) -> float:
        """Download + catalog entry ready, with the file's every hash recorded."""
        self.runs += 1
        target = self.library / f"run{self.runs}"
        service = self.context.downloads
        download_id = service.downloader.enqueue(
            DownloadRequest(url, target, expected_size=size, expected_sha256=sha)
        )
        os.sync()
        started = time.perf_counter()
        finished = service.run(download_id)
        elapsed = time.perf_counter() - started
        if finished.asset is None or finished.asset.hashes is None:
            raise RuntimeError("the downloaded file did not enter the catalog with its hashes")
        if finished.asset.hashes.sha256.lower() != sha:
            raise RuntimeError("the catalog recorded another SHA-256 than the file's")
        shutil.rmtree(target)
        return elapsed

    def close(self) -> None:
        self.context.library.close()


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
    with socket.socket() as probe:
        counts_delivery = _acked(probe) is not None
    with _serve_counting() as (server, state):
        state.add("/model.safetensors", Path(source))
        state.add("/kill.bin", Path(source))
        state.add("/kill-paced.bin", Path(source), Fault(trickle=(256 * 1024, 0.001)))
        conn.send(server.base_url)
        while (path := conn.recv()) is not None:
            time.sleep(0.2)  # let the handler of a connection just reset count its bytes
            with state.lock:
                delivered = state.delivered.get(path, 0) if counts_delivery else None
            conn.send((state.total_sent(path), delivered))


def _kill_run(conn: Connection, base: str, path: str, work: Path, *, size: int, sha: str, chunk: int) -> None:
    written_before, delivered_before = _ask(conn, path)
    kept, final_size = kill_at_half(f"{base}{path}", work, size, sha, chunk)
    written_after, delivered_after = _ask(conn, path)
    written = written_after - written_before - size
    print(
        f"kill at ~50% ({path}): .part kept {kept / size:.1%}; final file {final_size} bytes, hash verified"
    )
    if delivered_after is not None and delivered_before is not None:
        extra = delivered_after - delivered_before - size
        verdict = "OK" if extra <= chunk else "above target"
        print(
            f"  fetched again (reached the client beyond the file size): {extra} bytes = "
            f"{extra / chunk:.2f} chunk(s) (target <= 1: {verdict})"
        )
    else:
        print("  fetched again: unknown (needs Linux TCP_INFO)")
    print(
        f"  written by the server process beyond the file size: {written} bytes = "
        f"{written / chunk:.2f} chunk(s)"
    )


def _report(times: dict[str, list[float]], size: int) -> None:
    best = {name: min(values) for name, values in times.items()}
    lines = [
        ("ours", "ours, download (SHA-256 verified, renamed)"),
        ("hashed", "ours, download + every catalog hash"),
        ("ingested", "ours, download + catalog entry ready"),
        ("curl", "curl -s -o (page cache, not on disk yet)"),
        ("hashing", "hashing alone: every hash of the bytes, from memory"),
        ("ours_on_disk", "ours, until its final flush is done (on disk)"),
        ("curl_fsync", "curl -s -o, then fsync (on disk)"),
        ("disk", "the disk alone: same bytes from memory + fsync"),
    ]
    for name, label in lines:
        if name in best:
            spread = " / ".join(f"{t:.2f}" for t in times[name])
            print(f"{label:<55} {best[name]:.2f} s, {size / MIB / best[name]:4.0f} MiB/s  (runs: {spread})")
    if "curl" not in best:
        print("curl not found: skipped the curl comparison")
        return
    for baseline, ours, what in (
        ("curl", "ours", "download"),
        ("curl_fsync", "ours_on_disk", "download, both until on disk"),
    ):
        ratio = best[baseline] / best[ours]
        verdict = "OK" if ratio >= TARGET_RATIO else "below target"
        print(
            f"ratio {baseline}_time / {ours}_time = {ratio:.2f} ({what}; target >= {TARGET_RATIO}: {verdict})"
        )
    for ours, what in (("hashed", "download + every catalog hash"), ("ingested", "download + catalog entry")):
        print(f"ratio curl_time / {ours}_time = {best['curl'] / best[ours]:.2f} ({what}; no target)")
    hashing = best["hashing"] / best["hashed"]
    print(
        f"ratio hashing_time / hashed_time = {hashing:.2f} (1.0: the catalog hashes keep the hashing's pace)"
    )
    disk = best["disk"] / best["ours_on_disk"]
    print(f"ratio disk_time / ours_on_disk_time = {disk:.2f} (1.0: the download keeps the disk's pace)")


def _ask(conn: Connection, path: str) -> tuple[int, int | None]:
    conn.send(path)
    written, delivered = conn.recv()
    return int(written), (int(delivered) if delivered is not None else None)


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
            url = f"{base}/model.safetensors"
            store = SqlDownloadStore.open(work / "bench.db")
            engine = Downloader(make_session(), store, chunk_size=chunk)
            pipeline = _Pipeline(work)
            curl = shutil.which("curl")
            times: dict[str, list[float]] = {}
            for _ in range(args.runs):
                returned, hashed, on_disk = time_ours(engine, url, work / "ours", size, sha)
                times.setdefault("ours", []).append(returned)
                times.setdefault("hashed", []).append(hashed)
                times.setdefault("ours_on_disk", []).append(on_disk)
                times.setdefault("ingested", []).append(pipeline.time_ingested(url, size, sha))
                if curl:
                    times.setdefault("curl", []).append(time_curl(url, work / "curl.bin"))
                    durable = time_curl(url, work / "curl.bin", durable=True)
                    times.setdefault("curl_fsync", []).append(durable)
                times.setdefault("disk", []).append(time_disk(work / "disk.bin", size))
                times.setdefault("hashing", []).append(time_hashing(source))
            store.close()
            pipeline.close()
            shutil.rmtree(work / "ours", ignore_errors=True)
            _report(times, size)
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
