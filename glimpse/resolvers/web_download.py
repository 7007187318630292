"""web-download: fetch image data from an http(s) URL the operator's filter allows.

The filter (settings ``imports``) checks scheme, host and port against allow and deny
lists, and refuses hosts that resolve to anything but globally routable addresses unless
``allow_private_addresses`` is set: an image service must not become a way to read the
cloud's internal network (instance metadata on 169.254.169.254 or in 100.64.0.0/10,
admin endpoints on private addresses).

* Host names are normalised before the lists are consulted (case, trailing dot, IDNA), so
  ``METADATA.internal.`` is ``metadata.internal``.
* A name is resolved once per request and the connection goes to exactly the address that
  was checked (the Host header and TLS SNI still carry the name): a DNS answer that changes
  between check and connect (rebinding) cannot redirect the download.
* An address is public when ``ipaddress`` calls it global and it is no multicast, shared
  (100.64.0.0/10) or IPv4-translated address whose embedded IPv4 address is not public
  itself (IPv4-mapped, IPv4-compatible, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``,
  Teredo); the local-use NAT64 prefix ``64:ff9b:1::/48`` is refused outright.
* Redirects are never followed blindly: every hop is checked again before it is requested.
* A download has a total deadline (``download_deadline_seconds``) besides the per-read
  timeout, so a server trickling a byte now and then cannot hold a task runner forever.

Names are resolved by a :data:`Resolver`; ``deps.extras[RESOLVER]`` may hold another one
(the tests' controllable resolver for names that must not reach real DNS).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urljoin, urlsplit

import httpx
import idna

from glimpse.core.config import ImportSettings
from glimpse.core.errors import InvalidInput, StoreUnavailable
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.redact import uri as redacted

DEFAULT_PORTS = {"http": 80, "https": 443}
CHUNK = 1 << 20
RESOLVER = "web_download_resolver"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: host name and port -> the addresses it resolves to.
Resolver = Callable[[str, int], Awaitable[list[str]]]

_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver (getaddrinfo), every address it answers."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolver_of(deps: Deps) -> Resolver:
    """The resolver this deployment uses (``deps.extras[RESOLVER]`` or the system's)."""
    chosen = deps.extras.get(RESOLVER)
    return chosen if callable(chosen) else system_resolver


def _refuse(url: str, why: str) -> InvalidInput:
    return InvalidInput(f"URI {redacted(url)} does not pass filtering: {why}")


def normalise_host(host: str) -> str:
    """The form of a host name the filter compares: lower case, no trailing dot, IDNA
    (A-labels) for names, the canonical text for IP literals. InvalidInput if unusable."""
    name = host.strip().lower()
    name = name[:-1] if name.endswith(".") else name
    if not name:
        raise InvalidInput("empty host name")
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    if name.isascii():
        return name  # already the DNS form (A-labels); underscores etc. pass as DNS allows
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidInput(f"host name {host!r} is not a valid domain name") from exc


def _names(hosts: tuple[str, ...]) -> set[str]:
    out = set()
    for h in hosts:
        try:
            out.add(normalise_host(h))
        except InvalidInput:
            continue
    return out


def check_static(settings: ImportSettings, url: str) -> tuple[str, int]:
    """Scheme, host and port rules; returns the normalised (host, port)."""
    if not isinstance(url, str) or not url:
        raise InvalidInput("web-download needs a 'uri'")
    try:
        parts = urlsplit(url)
        port = parts.port
        scheme, host = parts.scheme.lower(), normalise_host(parts.hostname or "")
    except (ValueError, InvalidInput) as exc:
        raise _refuse(url, f"malformed URL ({exc})") from exc
    if scheme not in DEFAULT_PORTS:
        raise _refuse(url, "only http and https URLs with a host are accepted")
    if settings.allowed_schemes and scheme not in settings.allowed_schemes:
        raise _refuse(url, f"scheme {scheme} not allowed")
    if scheme in settings.disallowed_schemes:
        raise _refuse(url, f"scheme {scheme} denied")
    if settings.allowed_hosts and host not in _names(settings.allowed_hosts):
        raise _refuse(url, f"host {host} not allowed")
    if host in _names(settings.disallowed_hosts):
        raise _refuse(url, f"host {host} denied")
    port = port or DEFAULT_PORTS[scheme]
    allowed = {str(p) for p in settings.allowed_ports}
    if allowed and str(port) not in allowed:
        raise _refuse(url, f"port {port} not allowed")
    if str(port) in {str(p) for p in settings.disallowed_ports}:
        raise _refuse(url, f"port {port} denied")
    return host, port


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to through a translation mechanism."""
    out = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        out.extend(ip.teredo)
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


def is_public(address: str) -> bool:
    """Whether connecting to ``address`` leaves the cloud's private networks."""
    try:
        ip: Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if not ip.is_global or ip.is_multicast or ip in _SHARED:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        return all(is_public(str(v4)) for v4 in _embedded_v4(ip))
    return True


async def resolve(
    settings: ImportSettings, url: str, resolver: Resolver = system_resolver
) -> tuple[str, str]:
    """The whole filter; returns (normalised host, the one address to connect to)."""
    host, port = check_static(settings, url)
    try:
        literal = str(ipaddress.ip_address(host))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = await resolver(host, port)
        except OSError as exc:
            raise _refuse(url, f"host {host} does not resolve") from exc
    if not addresses:
        raise _refuse(url, f"host {host} does not resolve")
    if not settings.allow_private_addresses and not all(is_public(a) for a in addresses):
        raise _refuse(url, f"host {host} resolves to a non-public address")
    return host, addresses[0]


async def check(settings: ImportSettings, url: str, resolver: Resolver = system_resolver) -> None:
    """The filter at request time (the download checks again, hop by hop)."""
    await resolve(settings, url, resolver)


async def fetch(
    settings: ImportSettings,
    url: str,
    lengths: list[int] | None = None,
    resolver: Resolver = system_resolver,
) -> AsyncIterator[bytes]:
    """Stream the body at ``url``, checking every redirect hop against the filter and
    connecting to the address checked; the announced ``Content-Length`` (when there is
    one) is appended to ``lengths``.

    A 4xx answer and an exceeded deadline are permanent failures (:class:`InvalidInput`);
    connection errors and 5xx are :class:`StoreUnavailable`, which the task runner retries.
    """
    deadline = asyncio.get_running_loop().time() + settings.download_deadline_seconds
    timeout = httpx.Timeout(settings.timeout_seconds)
    async with httpx.AsyncClient(follow_redirects=False, timeout=timeout, trust_env=False) as c:
        for _ in range(settings.max_redirects + 1):
            response = await _open(settings, c, url, resolver, deadline)
            try:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                _raise_for(url, response.status_code)
                announced = response.headers.get("content-length", "")
                if lengths is not None and announced.isdigit():
                    lengths.append(int(announced))
                chunks = response.aiter_bytes(CHUNK)
                while (chunk := await _next(settings, url, chunks, deadline)) is not None:
                    yield chunk
                return
            finally:
                await response.aclose()
    raise InvalidInput(f"too many redirects fetching {redacted(url)}")


async def _open(
    settings: ImportSettings, c: httpx.AsyncClient, url: str, resolver: Resolver, deadline: float
) -> httpx.Response:
    """Check one hop and send its request to the checked address, within the deadline."""
    try:
        async with asyncio.timeout_at(deadline):
            host, address = await resolve(settings, url, resolver)
            target = httpx.URL(url).copy_with(host=address)
            netloc = httpx.URL(url).netloc.decode("ascii").rsplit("@", 1)[-1]
            request = c.build_request(
                "GET", target, headers={"Host": netloc}, extensions={"sni_hostname": host}
            )
            return await c.send(request, stream=True)
    except TimeoutError as exc:
        raise _late(settings, url) from exc
    except httpx.HTTPError as exc:
        raise _unavailable(url, exc) from exc


async def _next(
    settings: ImportSettings, url: str, chunks: AsyncIterator[bytes], deadline: float
) -> bytes | None:
    try:
        async with asyncio.timeout_at(deadline):
            return await anext(chunks, None)
    except TimeoutError as exc:
        raise _late(settings, url) from exc
    except httpx.HTTPError as exc:
        raise _unavailable(url, exc) from exc


def _late(settings: ImportSettings, url: str) -> InvalidInput:
    return InvalidInput(
        f"downloading {redacted(url)} took longer than the deadline of "
        f"{settings.download_deadline_seconds:g} s"
    )


def _unavailable(url: str, exc: httpx.HTTPError) -> StoreUnavailable:
    return StoreUnavailable(
        f"downloading {redacted(url)} failed ({type(exc).__name__})", internal=str(exc)
    )


def _raise_for(url: str, status: int) -> None:
    if status >= 500:
        raise StoreUnavailable(f"downloading {redacted(url)} failed: HTTP {status}")
    if status != 200:
        raise InvalidInput(f"downloading {redacted(url)} failed: HTTP {status}")
