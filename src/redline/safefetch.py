"""Fetching a URL that came from outside without becoming an SSRF proxy: for liveness checks of
referred URLs today, and for whatever else redline must fetch from an address it did not choose
(exchanges, webhooks).

The URLs come from untrusted posts and the hosts answering them are adversarial, so a fetch must
never be turned against the network redline runs in:

* only ``http`` and ``https``, and no credentials in the URL;
* the host is resolved once, here, and every address must be public (not loopback, private,
  link-local such as the cloud metadata service at 169.254.169.254, multicast, reserved,
  unspecified, carrier-grade NAT, site-local, nor an IPv6 form embedding one of those);
* the connection goes to that vetted address and no other: the socket layer is pinned, so a
  second DNS answer (rebinding between the check and the connect) cannot move it, while the
  request still names the host (``Host`` header, TLS SNI and certificate check);
* redirects are followed here, one hop at a time, each hop vetted like the first;
* no cookies, no proxies from the environment, the caller's honest User-Agent, at most
  ``max_bytes`` of body (hashed as sent, never decompressed), and one deadline for the whole
  fetch that every socket operation is held to.

The HTTP client is httpcore (the layer under httpx) because it has none of the conveniences that
would have to be turned off: no cookie jar, no redirect following, no proxy settings read from
the environment; and because it accepts a network backend, which is where the pinning and the
deadline live.

``fetch`` returns a ``Fetched`` answer; network failures and refusals raise ``FetchFailed`` with a
one-line reason and the trail so far. Only programming errors (a negative limit) raise otherwise.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict
from urllib.parse import quote, urljoin, urlsplit

import httpcore

SCHEMES: Final = frozenset({"http", "https"})
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})

Resolver = Callable[[str, int], Iterable[str]]
"""``(host, port) -> addresses``: how a host name becomes IP address strings."""

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# A host that resolves to many addresses is tried on a few of them (an IPv6 address on a machine
# without IPv6 fails fast); every one of them was vetted before the first was tried.
_MAX_ADDRESSES: Final = 3
# Everything in a request target except space and controls (refused before this) stays as
# written; only non-ASCII text is percent-encoded (as UTF-8), as a browser would.
_VISIBLE_ASCII: Final = "".join(chr(c) for c in range(33, 127))
_HOST_NAME: Final = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_.])?$")
_HOST_KEY: Final = re.compile(r"^(?:\[[0-9a-f:.]+\]|[a-z0-9_.-]+):\d{1,5}$")

_CARRIER_GRADE_NAT: Final = ipaddress.ip_network("100.64.0.0/10")
# IETF protocol assignments; Python 3.11 counts most of it as global.
_IETF_PROTOCOL: Final = ipaddress.ip_network("192.0.0.0/24")
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address is embedded
_NAT64_LOCAL: Final = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: an operator's own


class FetchOptions(TypedDict, total=False):
    """``fetch``'s limits and permissions, for a caller that passes them on (see ``fetch``)."""

    allow_private: bool
    allow_hosts: Collection[str]
    timeout: float
    deadline: float | None
    max_redirects: int
    max_bytes: int
    resolver: Resolver | None
    ssl_context: ssl.SSLContext | None


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a fetch ended with: the last answer, after every redirect was followed."""

    final_url: str  # the last URL actually requested
    status: int
    redirects: tuple[str, ...]  # every redirect target, in order
    sha256: str | None  # of the first max_bytes of the body, as sent; only for a 2xx answer
    bytes_read: int
    # Only with keep_body: the first max_bytes of a 2xx body and the answer's headers (names in
    # lower case), for a caller that reads what it fetched (an exchange's signed feed).
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


class FetchFailed(Exception):
    """A fetch that could not end in an answer; ``str(error)`` is the one-line reason. The trail
    so far comes with it: the last URL requested (None when nothing was), every redirect target
    (including one refused), the last status received and the body bytes read."""

    def __init__(
        self,
        reason: str,
        *,
        final_url: str | None,
        redirects: tuple[str, ...],
        status: int | None,
        bytes_read: int = 0,
    ) -> None:
        super().__init__(reason)
        self.final_url = final_url
        self.redirects = redirects
        self.status = status
        self.bytes_read = bytes_read


class _Failed(Exception):
    """A hop that cannot go on; ``str(error)`` is the one-line reason."""

    def __init__(
        self,
        reason: str,
        *,
        refused: bool = False,
        status: int | None = None,
        bytes_read: int = 0,
    ) -> None:
        super().__init__(reason)
        self.refused = refused  # redline's own rule said no, rather than the network failing
        self.status = status  # when the failure came after an answer's status line
        self.bytes_read = bytes_read


@dataclass(frozen=True, slots=True)
class _Target:
    """A URL taken apart into exactly what is connected to and sent."""

    url: str
    scheme: str
    host: str  # lower-case ASCII (IDNA); an IPv6 literal without brackets
    port: int
    target: bytes  # path and query, as sent on the request line
    literal: bool  # the host is an IP address

    @property
    def key(self) -> str:
        """``host:port`` as ``allow_hosts`` names it."""
        return _host_key(self.host, self.port)

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == _DEFAULT_PORTS[self.scheme] else f"{name}:{self.port}"


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    location: str | None = None
    sha256: str | None = None
    bytes_read: int = 0
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


def _host_key(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- addresses ------------------------------------------------------------------------------


def _spelling(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    # One spelling per address; an IPv4-mapped one shown as people write it (3.11 gives hex).
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


def _not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address):
        # Forms that carry an IPv4 address are judged by the IPv4 address they reach.
        if ip.ipv4_mapped is not None:
            kind = _not_public(ip.ipv4_mapped)
            return f"IPv4-mapped {kind}" if kind else None
        if ip in _NAT64:
            kind = _not_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
            return f"NAT64 of {kind}" if kind else None
        if ip in _NAT64_LOCAL:
            return "local-use NAT64"
        if ip.sixtofour is not None and (kind := _not_public(ip.sixtofour)):
            return f"6to4 of {kind}"
        if ip.teredo is not None:
            return "Teredo tunnel"
        if ip.is_site_local:
            return "site-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:  # Python 3.11 counts 224.0.0.0/4 as global
        return "multicast"
    if ip in _CARRIER_GRADE_NAT:
        return "carrier-grade NAT"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if ip in _IETF_PROTOCOL or not ip.is_global:
        return "not globally routable"
    return None


def refused_because(address: str) -> str | None:
    """Why a fetch will not connect to ``address`` (``"loopback"``, ``"private"``, ...), or None
    when it is a public address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone says where, not what
    except ValueError:
        return "not an IP address"
    return _not_public(ip)


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's addresses for ``host`` (TCP), the default ``resolver``."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _resolve(resolver: Resolver, host: str, port: int, seconds: float) -> list[str]:
    # getaddrinfo has no timeout of its own: run it aside and stop waiting at the deadline (the
    # thread ends when the system resolver gives up; it holds nothing the fetch needs).
    outcome: list[list[str] | Exception] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(list(resolver(host, port)))
        except Exception as error:  # handed over to the checking thread below
            outcome.append(error)
        finally:
            done.set()

    threading.Thread(target=run, name="redline-fetch-dns", daemon=True).start()
    if not done.wait(max(seconds, 0.0)):
        raise _Failed(f"timed out looking up {host} in DNS")
    result = outcome[0]
    if isinstance(result, socket.gaierror):
        raise _Failed(f"DNS lookup failed for {host}: {_one_line(str(result.strerror))}")
    if isinstance(result, Exception):
        raise _Failed(f"DNS lookup failed for {host}: {_one_line(str(result) or repr(result))}")
    return result


# --- URLs -----------------------------------------------------------------------------------


def _parse(url: str) -> _Target:
    text = url.strip()
    if not text:
        raise _Failed("empty URL", refused=True)
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise _Failed("refused: the URL contains spaces or control characters", refused=True)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise _Failed(f"unreadable URL: {_one_line(str(error))}", refused=True) from error
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"scheme {scheme!r}" if scheme else "no scheme"
        raise _Failed(f"refused: {shown} (only http and https URLs are checked)", refused=True)
    if "@" in parts.netloc:
        # Credentials would be sent to whoever answers, and user@host is a classic disguise.
        raise _Failed(
            "refused: the URL carries credentials (user@ or user:password@)", refused=True
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _Failed("refused: the URL has no host", refused=True)
    try:
        host, literal = _spelling(ipaddress.ip_address(host)), True  # one spelling per address
    except ValueError:
        literal = False
    if not literal:
        try:
            name = host if host.isascii() else host.encode("idna").decode("ascii")
        except UnicodeError:
            name = ""
        if not _HOST_NAME.match(name):
            raise _Failed(f"refused: {host!r} is not a valid host name", refused=True)
        host = name
    if port == 0:
        raise _Failed("refused: port 0", refused=True)
    target = quote(parts.path or "/", safe=_VISIBLE_ASCII)
    if parts.query:
        target += "?" + quote(parts.query, safe=_VISIBLE_ASCII)
    return _Target(
        text, scheme, host, port or _DEFAULT_PORTS[scheme], target.encode("ascii"), literal
    )


def _vet(
    target: _Target,
    resolver: Resolver,
    allow_private: bool,
    allow_hosts: frozenset[str],
    ends: float,
) -> list[str]:
    """The addresses to connect to, every one checked; _Failed when any one is refused."""
    if target.literal:
        found = [target.host]
    else:
        found = _resolve(resolver, target.host, target.port, ends - time.monotonic())
    addresses: list[str] = []
    for address in found:
        try:
            normal = _spelling(ipaddress.ip_address(address.split("%", 1)[0]))
        except ValueError:
            raise _Failed(f"DNS for {target.host} gave {address!r}, not an IP address") from None
        if normal not in addresses:
            addresses.append(normal)
    if not addresses:
        raise _Failed(f"DNS lookup for {target.host} returned no addresses")
    if allow_private or target.key in allow_hosts:
        return addresses
    for address in addresses:  # all of them: the client might have used any
        if kind := refused_because(address):
            where = address if target.literal else f"{target.host} resolves to {address}, which"
            raise _Failed(f"refused: {where} is not public ({kind})", refused=True)
    return addresses


# --- the pinned, deadline-bound connection --------------------------------------------------


def _within(timeout: float | None, ends: float, error: type[httpcore.TimeoutException]) -> float:
    remaining = ends - time.monotonic()
    if remaining <= 0:
        raise error("the fetch's overall time limit passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read, write and TLS handshake ends by the deadline, so a host
    that trickles a byte at a time cannot hold the fetch past it."""

    def __init__(self, stream: httpcore.NetworkStream, ends: float) -> None:
        self._stream = stream
        self._ends = ends

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within(timeout, self._ends, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within(timeout, self._ends, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        limit = _within(timeout, self._ends, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, limit), self._ends
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to the one vetted address whatever host the request names: httpcore never looks
    the name up again, so DNS rebinding has nothing to act on. The request itself still names the
    host, so the ``Host`` header, TLS SNI and the certificate check are the host's."""

    def __init__(self, host: str, port: int, address: str, ends: float) -> None:
        self._host, self._port, self._address, self._ends = host, port, address, ends
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        if (host, port) != (self._host, self._port):
            # Nothing here asks for another origin; if something ever does, refuse, never guess.
            raise httpcore.ConnectError(f"refused: unexpected connection to {host}:{port}")
        limit = _within(timeout, self._ends, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(
            self._address, port, limit, local_address, socket_options
        )
        return _DeadlineStream(stream, self._ends)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("refused: liveness checks do not use Unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _network_reason(error: Exception, target: _Target, address: str, phase: str) -> str:
    where = target.host if target.literal else f"{target.host} ({address})"
    text = _one_line(str(error))
    if isinstance(error, httpcore.ConnectTimeout):
        return f"timed out connecting to {where}"
    if isinstance(error, httpcore.TimeoutException):
        return f"timed out {phase} from {where}"
    if isinstance(error, httpcore.ConnectError):
        if "refused" in text.lower():
            return f"connection refused by {where} port {target.port}"
        if "certificate" in text.lower() or "ssl" in text.lower() or "tls" in text.lower():
            return f"TLS error with {where}: {text}"
        return f"could not connect to {where}: {text or type(error).__name__}"
    if isinstance(error, httpcore.ProtocolError):
        return f"HTTP protocol error from {where} {phase}: {text or type(error).__name__}"
    return f"network error from {where} {phase}: {text or type(error).__name__}"


@dataclass(frozen=True, slots=True)
class _Request:
    """What is sent besides the URL: GET with nothing, or a POST's body and headers."""

    method: str = "GET"
    body: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    keep_body: bool = False


def _fetch_from(
    target: _Target,
    address: str,
    user_agent: str,
    ends: float,
    timeout: float,
    max_bytes: int,
    ssl_context: ssl.SSLContext | None,
    request: _Request,
) -> _Answer:
    headers = [
        (b"Host", target.host_header.encode("ascii")),
        (b"User-Agent", user_agent.encode("ascii")),
        (b"Accept", b"*/*"),
        # The body is hashed as sent: nothing to decompress, so no decompression bomb either.
        (b"Accept-Encoding", b"identity"),
        (b"Connection", b"close"),
    ]  # and no Cookie: every hop starts from nothing
    if request.method != "GET":
        headers.append((b"Content-Length", str(len(request.body)).encode("ascii")))
    headers.extend(request.headers)
    extensions = {
        "timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    }
    url = httpcore.URL(
        scheme=target.scheme.encode("ascii"),
        host=target.host.encode("ascii"),
        port=target.port,
        target=target.target,
    )
    backend = _PinnedBackend(target.host, target.port, address, ends)
    with (
        httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=1, retries=0, network_backend=backend
        ) as pool,
        pool.stream(
            request.method, url, headers=headers, content=request.body, extensions=extensions
        ) as response,
    ):
        status = response.status
        if status in REDIRECT_STATUSES:
            values = [v for k, v in response.headers if k.lower() == b"location"]
            location = _header_text(values[0]).strip() if values else None
            return _Answer(status, location=location or "")
        if not 200 <= status < 300:
            return _Answer(status)  # the body of an error page says nothing about the content
        digest, read = hashlib.sha256(), 0
        kept: list[bytes] = []
        try:
            for chunk in response.iter_stream():
                part = chunk[: max_bytes - read]
                digest.update(part)
                if request.keep_body:
                    kept.append(part)
                read += len(part)
                if read >= max_bytes:
                    break  # leaving the block closes the connection: the rest is never read
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as error:
            reason = _network_reason(error, target, address, "reading the body")
            raise _Failed(
                f"{reason} (after {read} bytes)", status=status, bytes_read=read
            ) from error
        if not request.keep_body:
            return _Answer(status, sha256=digest.hexdigest(), bytes_read=read)
        return _Answer(
            status,
            sha256=digest.hexdigest(),
            bytes_read=read,
            body=b"".join(kept),
            headers=tuple((_header_text(k).lower(), _header_text(v)) for k, v in response.headers),
        )


def _header_text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _fetch(
    target: _Target,
    addresses: list[str],
    user_agent: str,
    ends: float,
    timeout: float,
    max_bytes: int,
    ssl_context: ssl.SSLContext | None,
    request: _Request,
) -> _Answer:
    reason = ""
    for address in addresses[:_MAX_ADDRESSES]:
        try:
            return _fetch_from(
                target, address, user_agent, ends, timeout, max_bytes, ssl_context, request
            )
        except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
            # Not connected yet: another vetted address of the same host may answer.
            reason = _network_reason(error, target, address, "connecting")
            if time.monotonic() >= ends:
                break
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as error:
            raise _Failed(
                _network_reason(error, target, address, "waiting for an answer")
            ) from error
    raise _Failed(reason)


# --- the fetch ------------------------------------------------------------------------------


def fetch(
    url: str,
    *,
    user_agent: str,
    allow_private: bool = False,
    allow_hosts: Collection[str] = (),
    timeout: float = 10.0,
    deadline: float | None = None,
    max_redirects: int = 5,
    max_bytes: int = 2_000_000,
    resolver: Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
    post: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    keep_body: bool = False,
) -> Fetched:
    """GET ``url`` safely, following redirects (each one vetted like the first), and return the
    last answer with the SHA-256 of the first ``max_bytes`` of a 2xx body.

    With ``post`` it POSTs those bytes instead, with ``headers`` added (a webhook's signature);
    redirects are then never followed (``max_redirects`` must be 0: a POST that moved is the
    sender's configuration to fix, and following it would re-send the body elsewhere).

    ``timeout`` limits each connect and read; ``deadline`` the whole fetch, redirects and DNS
    included (twice ``timeout`` when None). Private and other non-public addresses are refused,
    on the first hop and on every redirect, unless ``allow_private`` (any address) or the URL's
    ``host:port`` is in ``allow_hosts`` (exactly those: ``"127.0.0.1:8080"``, ``"[::1]:8080"``,
    ``"intranet.example:443"``). ``resolver`` replaces the system's DNS (tests); ``ssl_context``
    the default certificate store (certifi's, as httpx uses). With ``keep_body`` the answer
    also carries the first ``max_bytes`` of a 2xx body and the headers.

    Raises ``FetchFailed`` for every refusal, network failure and unusable redirect, and for
    anything unexpected (a fetch of an adversarial host reports, it does not crash its worker).
    """
    if timeout <= 0 or (deadline is not None and deadline <= 0):
        raise ValueError("timeout and deadline must be positive")
    if max_redirects < 0 or max_bytes <= 0:
        raise ValueError("max_redirects must be 0 or more and max_bytes positive")
    if post is not None and max_redirects:
        raise ValueError("a POST follows no redirects: max_redirects=0")
    request = _Request(
        "GET" if post is None else "POST",
        post or b"",
        tuple((k.encode("ascii"), v.encode("ascii")) for k, v in (headers or {}).items()),
        keep_body,
    )
    trusted = frozenset(host.strip().lower() for host in allow_hosts)
    if bad := sorted(host for host in trusted if not _HOST_KEY.match(host)):
        raise ValueError(f"allow_hosts entries must be host:port, not {', '.join(bad)}")
    ends = time.monotonic() + (2 * timeout if deadline is None else deadline)
    redirects: list[str] = []
    final_url: str | None = None
    status: int | None = None

    def failed(reason: str, bytes_read: int = 0) -> FetchFailed:
        return FetchFailed(
            reason,
            final_url=final_url,
            redirects=tuple(redirects),
            status=status,
            bytes_read=bytes_read,
        )

    current = url
    try:
        while True:
            try:
                target = _parse(current)
                addresses = _vet(target, resolver or system_resolver, allow_private, trusted, ends)
            except _Failed as failure:
                if not redirects:
                    raise
                # Say which hop: the URL asked for was fine, where it led was not.
                reason = str(failure).removeprefix("refused: ")
                raise _Failed(
                    f"redirect to {current} refused: {reason}"
                    if failure.refused
                    else f"after a redirect to {current}: {reason}"
                ) from None
            final_url = current
            answer = _fetch(
                target, addresses, user_agent, ends, timeout, max_bytes, ssl_context, request
            )
            status = answer.status
            if answer.location is None:
                return Fetched(
                    current,
                    answer.status,
                    tuple(redirects),
                    answer.sha256,
                    answer.bytes_read,
                    answer.body,
                    answer.headers,
                )
            if not answer.location:
                raise failed(f"HTTP {status} redirect without a Location header")
            try:
                current = urljoin(current, answer.location)
            except ValueError:
                raise failed(
                    f"HTTP {status} redirect to an unreadable Location: "
                    f"{_one_line(answer.location, 200)}"
                ) from None
            redirects.append(current)
            if len(redirects) > max_redirects:
                raise failed(f"too many redirects (more than {max_redirects})")
    except FetchFailed:
        raise
    except _Failed as failure:
        status = failure.status or status
        raise failed(str(failure), failure.bytes_read) from failure
    except Exception as error:
        raise failed(f"unexpected {type(error).__name__}: {_one_line(str(error))}") from error
