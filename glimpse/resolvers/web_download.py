"""web-download: fetch image data from an http(s) URL the operator's filter allows.

The filter (settings ``imports``) checks scheme, host and port against allow and deny
lists, and refuses hosts that resolve to private, loopback, link-local or otherwise
non-public addresses unless ``allow_private_addresses`` is set: an image service must not
become a way to read the cloud's internal network. Redirects are never followed blindly;
every hop is checked again before it is requested.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from urllib.parse import urljoin, urlsplit

import httpx

from glimpse.core.config import ImportSettings
from glimpse.core.errors import InvalidInput, StoreUnavailable

DEFAULT_PORTS = {"http": 80, "https": 443}
CHUNK = 1 << 20


def _refuse(url: str, why: str) -> InvalidInput:
    return InvalidInput(f"URI {url} does not pass filtering: {why}")


def check_static(settings: ImportSettings, url: str) -> tuple[str, int]:
    """Scheme, host and port rules; returns (host, port)."""
    if not isinstance(url, str) or not url:
        raise InvalidInput("web-download needs a 'uri'")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refuse(url, "malformed URL") from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not host or scheme not in DEFAULT_PORTS:
        raise _refuse(url, "only http and https URLs with a host are accepted")
    if settings.allowed_schemes and scheme not in settings.allowed_schemes:
        raise _refuse(url, f"scheme {scheme} not allowed")
    if scheme in settings.disallowed_schemes:
        raise _refuse(url, f"scheme {scheme} denied")
    if settings.allowed_hosts and host not in settings.allowed_hosts:
        raise _refuse(url, f"host {host} not allowed")
    if host in settings.disallowed_hosts:
        raise _refuse(url, f"host {host} denied")
    port = port or DEFAULT_PORTS[scheme]
    allowed = {str(p) for p in settings.allowed_ports}
    if allowed and str(port) not in allowed:
        raise _refuse(url, f"port {port} not allowed")
    if str(port) in {str(p) for p in settings.disallowed_ports}:
        raise _refuse(url, f"port {port} denied")
    return host, port


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def check(settings: ImportSettings, url: str) -> None:
    """The whole filter, including where the host name resolves to."""
    host, port = check_static(settings, url)
    if settings.allow_private_addresses:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _refuse(url, f"host {host} does not resolve") from exc
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(_public(a) for a in addresses):
        raise _refuse(url, f"host {host} resolves to a non-public address")


async def fetch(
    settings: ImportSettings, url: str, lengths: list[int] | None = None
) -> AsyncIterator[bytes]:
    """Stream the body at ``url``, checking every redirect hop against the filter; the
    announced ``Content-Length`` (when there is one) is appended to ``lengths``.

    A 4xx answer is a permanent failure (:class:`InvalidInput`); connection errors and
    5xx are :class:`StoreUnavailable`, which the task runner retries.
    """
    timeout = httpx.Timeout(settings.timeout_seconds)
    async with httpx.AsyncClient(follow_redirects=False, timeout=timeout, trust_env=False) as c:
        for _ in range(settings.max_redirects + 1):
            await check(settings, url)
            try:
                async with c.stream("GET", url) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    _raise_for(url, response.status_code)
                    announced = response.headers.get("content-length", "")
                    if lengths is not None and announced.isdigit():
                        lengths.append(int(announced))
                    async for chunk in response.aiter_bytes(CHUNK):
                        yield chunk
                    return
            except httpx.HTTPError as exc:
                raise StoreUnavailable(f"downloading {url} failed: {exc}") from exc
    raise InvalidInput(f"too many redirects fetching {url}")


def _raise_for(url: str, status: int) -> None:
    if status >= 500:
        raise StoreUnavailable(f"downloading {url} failed: HTTP {status}")
    if status != 200:
        raise InvalidInput(f"downloading {url} failed: HTTP {status}")
