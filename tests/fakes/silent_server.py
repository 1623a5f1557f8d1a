"""A loopback server that accepts connections and never answers: the worst a site can do to a client.

The connection succeeds, the request is read, and then nothing: no status line, no close. A client with
only a read timeout between bytes waits that whole timeout on every try; Atelier's retry budget must end
the wait (and say so) within its 30 s. Connections are held until the block ends.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def _loopback_server(
    name: str, on_connection: Callable[[socket.socket, threading.Event], None]
) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a listener that hands each connection to ``on_connection`` (with the
    event set when the block ends), for the block."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.05)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            on_connection(connection, stop)

    thread = threading.Thread(target=accept, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@contextmanager
def silent_server() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a server that accepts and stays silent, for the block."""
    held: list[socket.socket] = []
    with _loopback_server("silent-server", lambda connection, _stop: held.append(connection)) as url:
        try:
            yield url
        finally:
            for connection in held:  # kept open, never written to, until the block ends
                connection.close()


TRICKLE_HEADERS = "headers"
TRICKLE_BODY = "body"


@contextmanager
def trickle_server(
    phase: str, *, content_type: str = "application/json", interval_s: float = 1.0
) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a server that answers one byte every ``interval_s`` (a second), for
    the block.

    ``phase`` ``"headers"``: the status line, then a header that never ends. ``"body"``: whole headers
    announcing 1,000,000 bytes of ``content_type``, then the body one byte at a time. Every byte renews a
    read timeout (when ``interval_s`` is shorter than it), so only a deadline for the whole answer (or a
    minimum speed) ends the wait. A test with a short budget of its own trickles faster, keeping each
    byte well inside the read timeout: the budget, not the trickle's pace, sets how long it waits.
    """
    if phase == TRICKLE_HEADERS:
        opening = b"HTTP/1.1 200 OK\r\nX-Slow: "
    else:
        opening = (
            f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: 1000000\r\n\r\n".encode()
        )
    threads: list[threading.Thread] = []

    def answer(connection: socket.socket, stop: threading.Event) -> None:
        with connection:
            try:
                connection.recv(65536)
                connection.sendall(opening)
                while not stop.wait(interval_s):
                    connection.sendall(b"a" if phase == TRICKLE_HEADERS else b" ")
            except OSError:
                return  # the client gave up and closed

    def start(connection: socket.socket, stop: threading.Event) -> None:
        worker = threading.Thread(target=answer, args=(connection, stop), name="trickle", daemon=True)
        worker.start()
        threads.append(worker)

    try:
        with _loopback_server("trickle-server", start) as url:
            yield url
    finally:
        for worker in threads:  # each ends at its next second: the block's end set the event
            worker.join(timeout=5)
