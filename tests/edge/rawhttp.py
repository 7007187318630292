"""HTTP/1.1 over a raw socket, for requests no well-behaved client library would send:
bodies cut short, conflicting framing, oversized heads, no ``Host``, 256 MiB uploads that
must be refused before they are read."""

from __future__ import annotations

import select
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MiB = 1024 * 1024


@dataclass
class RawResponse:
    """The status line and head of what came back (``status`` 0: the server closed the
    connection without answering)."""

    status: int
    head: str
    body: bytes
    sent: int = 0  # body bytes the client managed to send

    def header(self, name: str) -> str | None:
        for line in self.head.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def head(method: str, path: str, headers: dict[str, str], *, host: str | None = "x") -> bytes:
    """A request head; ``host=None`` leaves ``Host`` out."""
    lines = [f"{method} {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def exchange(
    url: str, request: bytes, *, half_close: bool = False, timeout: float = 30
) -> RawResponse:
    """Send ``request`` as is, optionally shut our side down, and read the answer."""
    with socket.create_connection(address(url), timeout=timeout) as sock:
        try:
            sock.sendall(request)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return _read(sock, 0)


def stream_until_answered(
    url: str, request_head: bytes, total: int, *, chunked: bool, timeout: float = 60
) -> RawResponse:
    """Send up to ``total`` body bytes after ``request_head`` in 1 MiB pieces, stopping as
    soon as the server answers (or stops reading); then read that answer."""
    block = b"x" * MiB
    sent = 0
    with socket.create_connection(address(url), timeout=timeout) as sock:
        sock.sendall(request_head)
        try:
            while sent < total:
                if select.select([sock], [], [], 0)[0]:
                    break  # an answer (or a close) arrived: stop sending
                piece = block[: min(MiB, total - sent)]
                sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
        except OSError:
            pass  # the server closed its side after answering: read what it sent
        return _read(sock, sent)


def _read(sock: socket.socket, sent: int) -> RawResponse:
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        raw_head, _, body = data.partition(b"\r\n\r\n")
        length = RawResponse(0, raw_head.decode("latin-1"), b"").header("content-length")
        while length is not None and len(body) < int(length):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            body += chunk
    except OSError:
        pass
    raw_head, _, body = data.partition(b"\r\n\r\n")
    text = raw_head.decode("latin-1")
    parts = text.split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return RawResponse(status, text, body, sent)
