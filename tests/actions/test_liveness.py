"""Liveness checks against real HTTP servers on 127.0.0.1: states, redirects, limits, and the
rules that keep a check from being turned against redline's own network."""

from __future__ import annotations

import hashlib
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from redline.actions.liveness import USER_AGENT, UrlCheck, check_url
from redline.safefetch import refused_because

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PAGE = b"<html><body>the referred post</body></html>"
BLOCK = bytes(range(256)) * 256  # 64 KiB of a pattern whose prefixes the tests can hash


@dataclass(frozen=True)
class Seen:
    """A request as the test server received it; header names lower-case."""

    path: str
    headers: dict[str, str]


class Server(ThreadingHTTPServer):
    """A local HTTP server that remembers what it was asked."""

    daemon_threads = True  # a handler still trickling bytes must not hold up the test run

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[Seen] = []
        self.sni: list[str | None] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def trusted(self) -> set[str]:
        """This server and nothing else, as a caller allows it."""
        return {f"127.0.0.1:{self.port}"}

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a check that hangs up early (max_bytes, deadline, TLS refusal) is the point


class TlsServer(Server):
    """The same server behind TLS, recording the SNI name each client sent."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__()
        context.sni_callback = self._record_sni
        self.context = context

    def _record_sni(self, _obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.sni.append(name)

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        sock, address = self.socket.accept()
        # The handshake happens in the handler's thread, so a refused one cannot stall accept().
        wrapped = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return wrapped, address

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: Iterable[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _endless(self, block: bytes, pause: float) -> None:
        # No Content-Length: the body runs until one side closes.
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        while True:
            self.wfile.write(block)
            self.wfile.flush()
            if pause:
                time.sleep(pause)

    def do_GET(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.seen.append(Seen(self.path, headers))
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        try:
            if path == "/page":
                self._send(200, PAGE)
            elif path == "/empty":
                self._send(200, b"")
            elif path.startswith("/status/"):
                self._send(int(path.rsplit("/", 1)[1]), b"<html>an error page</html>")
            elif path.startswith("/chain/"):
                left = int(path.rsplit("/", 1)[1])
                if left == 0:
                    self._send(200, PAGE)
                else:
                    self._send(302, b"", [("Location", f"/chain/{left - 1}")])
            elif path == "/redirect":
                self._send(302, b"", [("Location", query["to"][0])])
            elif path == "/no-location":
                self._send(302, b"")
            elif path == "/cookie":
                self._send(
                    302, b"", [("Set-Cookie", "session=secret; Path=/"), ("Location", "/page")]
                )
            elif path == "/huge":
                self._endless(BLOCK, pause=0)
            elif path == "/trickle":
                self._endless(b"x", pause=0.05)
            else:
                self._send(404, b"no such page")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the check hung up, as it should


def _serve(server: Server) -> Iterator[Server]:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def _http_server() -> Iterator[Server]:
    yield from _serve(Server())


@pytest.fixture
def server(_http_server: Server) -> Server:
    _http_server.seen.clear()
    return _http_server


class Dns:
    """A resolver with fixed answers that records what it was asked."""

    def __init__(self, answers: dict[str, list[str]] | None = None, delay: float = 0) -> None:
        self.answers = answers or {}
        self.delay = delay
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        time.sleep(self.delay)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


def check(server: Server, path: str, **options: object) -> UrlCheck:
    """Check a path on the test server, trusting exactly that server."""
    options.setdefault("allow_hosts", server.trusted)
    options.setdefault("timeout", 2.0)
    return check_url(server.base + path, NOW, **options)  # type: ignore[arg-type]


# --- what a check finds ---------------------------------------------------------------------


def test_up_records_the_body_hash_and_sends_nothing_but_the_request(server: Server) -> None:
    result = check(server, "/page")
    assert result == UrlCheck(
        url=server.base + "/page",
        final_url=server.base + "/page",
        state="up",
        http_status=200,
        content_sha256=hashlib.sha256(PAGE).hexdigest(),
        bytes_read=len(PAGE),
        redirects=(),
        error=None,
        checked_at=NOW,
    )
    [seen] = server.seen
    assert seen.headers["host"] == f"127.0.0.1:{server.port}"
    assert seen.headers["user-agent"] == USER_AGENT
    assert seen.headers["accept-encoding"] == "identity"
    assert "cookie" not in seen.headers
    assert "authorization" not in seen.headers


def test_changed_when_the_body_hash_differs(server: Server) -> None:
    same = hashlib.sha256(PAGE).hexdigest()
    assert check(server, "/page", previous_sha256=same).state == "up"
    assert check(server, "/page", previous_sha256=same.upper()).state == "up"
    changed = check(server, "/page", previous_sha256=hashlib.sha256(b"older").hexdigest())
    assert changed.state == "changed"
    assert changed.content_sha256 == same
    assert changed.error is None


@pytest.mark.parametrize("status", [404, 410, 451])
def test_not_found_gone_and_legal_removal_are_down(server: Server, status: int) -> None:
    result = check(server, f"/status/{status}")
    assert (result.state, result.http_status, result.error) == ("down", status, None)
    assert result.content_sha256 is None
    assert result.bytes_read == 0


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (500, "server error"),
        (503, "server error"),
        # Geo-blocking or a bot wall: the content may well be up for everyone else.
        (403, "geo-blocking"),
        (401, "not a removal"),
        (429, "rate limited"),
        (400, "not a removal"),
    ],
)
def test_other_statuses_are_errors_with_the_status(server: Server, status: int, words: str) -> None:
    result = check(server, f"/status/{status}")
    assert (result.state, result.http_status) == ("error", status)
    assert result.error is not None
    assert f"HTTP {status}" in result.error
    assert words in result.error
    assert result.content_sha256 is None


def test_an_empty_body_is_not_up(server: Server) -> None:
    result = check(server, "/empty")
    assert (result.state, result.http_status) == ("error", 200)
    assert "empty body" in (result.error or "")


def test_the_check_time_is_aware_utc() -> None:
    dns = Dns()
    result = check_url("https://nowhere.test/", resolver=dns)  # no connection: DNS fails
    assert result.checked_at.tzinfo is UTC
    assert abs(datetime.now(UTC) - result.checked_at) < timedelta(minutes=1)
    with pytest.raises(ValueError, match="aware"):
        check_url("https://nowhere.test/", datetime(2026, 11, 23, 9, 0), resolver=dns)


# --- redirects ------------------------------------------------------------------------------


def test_a_redirect_chain_is_followed_and_recorded(server: Server) -> None:
    result = check(server, "/chain/3")
    assert result.state == "up"
    assert result.redirects == tuple(f"{server.base}/chain/{n}" for n in (2, 1, 0))
    assert result.final_url == f"{server.base}/chain/0"
    assert result.content_sha256 == hashlib.sha256(PAGE).hexdigest()
    assert [s.path for s in server.seen] == ["/chain/3", "/chain/2", "/chain/1", "/chain/0"]


def test_too_many_redirects_is_an_error(server: Server) -> None:
    result = check(server, "/chain/10", max_redirects=3)
    assert result.state == "error"
    assert result.error == "too many redirects (more than 3)"
    assert len(result.redirects) == 4  # the one not followed is recorded too
    assert len(server.seen) == 4
    assert result.final_url == f"{server.base}/chain/7"
    assert check(server, "/chain/1", max_redirects=0).state == "error"


def test_a_redirect_without_location_is_an_error(server: Server) -> None:
    result = check(server, "/no-location")
    assert (result.state, result.http_status) == ("error", 302)
    assert "without a Location" in (result.error or "")


def test_a_redirect_to_an_unreadable_location_is_an_error(server: Server) -> None:
    result = check(server, "/redirect?to=" + quote("http://[::1", safe=""))
    assert (result.state, result.http_status) == ("error", 302)
    assert "unreadable Location" in (result.error or "")
    assert len(server.seen) == 1


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://0.0.0.0:{port}/page",
        "http://[::ffff:127.0.0.1]:{port}/page",
        "http://100.64.0.1/",
        # The same machine on another port is not the server the caller trusted...
        "http://127.0.0.1:{other}/page",
        # ...nor is the same port under another name (localhost resolves to loopback).
        "http://localhost:{port}/page",
        # And the rules for the first URL hold for every hop.
        "ftp://127.0.0.1:{port}/page",
        "file:///etc/passwd",
        "http://user:secret@127.0.0.1:{port}/page",
    ],
)
def test_a_redirect_elsewhere_private_is_refused(server: Server, target: str) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        target = target.format(port=server.port, other=other.getsockname()[1])
        result = check(server, "/redirect?to=" + quote(target, safe=""))
    assert result.state == "error"
    assert result.error is not None
    assert result.error.startswith(f"redirect to {target} refused: ")
    assert result.redirects == (target,)
    assert result.final_url == f"{server.base}/redirect?to={quote(target, safe='')}"
    assert result.http_status == 302
    # Refused before any attempt: an attempt would have reached the server (seen twice) or
    # ended as a connection error or a time-out, not as a refusal. (No wall-clock bound: the
    # suite's loaded machines once took 1.6 s over this check.)
    assert len(server.seen) == 1  # only the redirect itself


def test_allow_private_trusts_every_address(server: Server) -> None:
    # localhost may resolve to ::1 first, where nothing listens: the next vetted address is tried.
    target = f"http://localhost:{server.port}/page"
    result = check(
        server, "/redirect?to=" + quote(target, safe=""), allow_hosts=(), allow_private=True
    )
    assert (result.state, result.final_url) == ("up", target)


def test_cookies_from_one_hop_are_not_sent_on_the_next(server: Server) -> None:
    result = check(server, "/cookie")
    assert result.state == "up"
    assert result.redirects == (f"{server.base}/page",)
    assert [s.path for s in server.seen] == ["/cookie", "/page"]
    assert all("cookie" not in s.headers for s in server.seen)


# --- limits ---------------------------------------------------------------------------------


def test_a_huge_body_is_cut_at_max_bytes(server: Server) -> None:
    result = check(server, "/huge", max_bytes=100_000)
    assert (result.state, result.bytes_read) == ("up", 100_000)
    assert result.content_sha256 == hashlib.sha256((BLOCK * 2)[:100_000]).hexdigest()


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # listens, so connecting works, but never reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        start = time.monotonic()
        result = check_url(
            f"http://127.0.0.1:{port}/", NOW, allow_hosts={f"127.0.0.1:{port}"}, timeout=0.3
        )
        elapsed = time.monotonic() - start
    assert result.state == "error"
    assert "timed out" in (result.error or "")
    assert result.http_status is None
    # It waited out its timeout, and no more than a bound for a hung check (a loaded machine
    # adds seconds to anything; the time-out itself is in the error).
    assert 0.25 < elapsed < 10


def test_a_trickling_server_is_cut_off_at_the_overall_deadline(server: Server) -> None:
    # A byte every 50 ms never trips the 0.3 s read timeout; the 0.6 s deadline stops it.
    start = time.monotonic()
    result = check(server, "/trickle", timeout=0.3)
    elapsed = time.monotonic() - start
    assert result.state == "error"
    assert "timed out reading the body" in (result.error or "")
    assert result.http_status == 200
    assert result.content_sha256 is None
    assert 0 < result.bytes_read < 100  # cut off: the trickle sends a byte every 50 ms, endlessly
    assert 0.5 < elapsed < 10  # at the deadline, not before; the upper bound only catches a hang


def test_connection_refused_is_an_error() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: nothing accepts
        result = check_url(f"http://127.0.0.1:{port}/", NOW, allow_private=True, timeout=1)
    assert result.state == "error"
    assert result.error == f"connection refused by 127.0.0.1 port {port}"
    assert result.final_url == f"http://127.0.0.1:{port}/"


# --- what is refused before any connection -------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://127.0.0.1:{port}/page", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("gopher://127.0.0.1:{port}/_GET", "scheme 'gopher'"),
        ("//127.0.0.1:{port}/page", "no scheme"),
        ("http://user:secret@127.0.0.1:{port}/page", "credentials"),
        ("http://user@127.0.0.1:{port}/page", "credentials"),
        ("http://evil.test@127.0.0.1:{port}/page", "credentials"),
        ("http:///page", "no host"),
        ("http://127.0.0.1:{port}/page\r\nX-Injected: 1", "control characters"),
        ("http://127.0.0.1:{port}/a page", "spaces"),
        ("http://exa mple.test/", "spaces"),
        ("http://bad_host!.test/", "not a valid host name"),
    ],
)
def test_refused_urls_make_no_connection(server: Server, url: str, words: str) -> None:
    dns = Dns({"evil.test": ["127.0.0.1"]})
    result = check_url(url.format(port=server.port), NOW, allow_hosts=server.trusted, resolver=dns)
    assert result.state == "error"
    assert words in (result.error or "")
    assert (result.final_url, result.http_status, result.redirects) == (None, None, ())
    assert dns.asked == []
    assert server.seen == []


@pytest.mark.parametrize(
    ("answers", "address"),
    [
        (["127.0.0.1"], "127.0.0.1"),
        # One bad address is enough: the connection could have used either.
        (["93.184.215.14", "127.0.0.1"], "127.0.0.1"),
        (["2606:4700:4700::1111", "10.1.2.3"], "10.1.2.3"),
        (["::ffff:127.0.0.1"], "::ffff:127.0.0.1"),
        (["169.254.169.254"], "169.254.169.254"),
        (["100.64.0.9"], "100.64.0.9"),
    ],
)
def test_a_host_resolving_to_a_private_address_is_refused(
    server: Server, answers: list[str], address: str
) -> None:
    dns = Dns({"evil.test": answers})
    result = check_url(
        f"http://evil.test:{server.port}/page", NOW, allow_hosts=server.trusted, resolver=dns
    )
    assert result.state == "error"
    assert result.error is not None
    assert result.error.startswith(f"refused: evil.test resolves to {address}, which is not public")
    assert dns.asked == ["evil.test"]
    assert server.seen == []  # no connection attempted
    assert result.final_url is None


def test_the_connection_goes_to_the_address_resolved_once(server: Server) -> None:
    # pinned.test exists only in this resolver, asked once: a request that reaches the server
    # went to the vetted address, and named the host as the URL did.
    dns = Dns({"pinned.test": ["127.0.0.1"]})
    url = f"http://pinned.test:{server.port}/page"
    result = check_url(url, NOW, allow_hosts={f"pinned.test:{server.port}"}, resolver=dns)
    assert (result.state, result.final_url) == ("up", url)
    assert dns.asked == ["pinned.test"]
    [seen] = server.seen
    assert seen.headers["host"] == f"pinned.test:{server.port}"


def test_dns_failures_are_errors() -> None:
    failed = check_url("https://nowhere.test/", NOW, resolver=Dns())
    assert failed.state == "error"
    assert failed.error == "DNS lookup failed for nowhere.test: Name or service not known"
    empty = check_url("https://empty.test/", NOW, resolver=Dns({"empty.test": []}))
    assert empty.error == "DNS lookup for empty.test returned no addresses"
    start = time.monotonic()
    slow = check_url(
        "https://slow.test/",
        NOW,
        timeout=0.2,
        resolver=Dns({"slow.test": ["93.184.215.14"]}, delay=30),
    )
    assert slow.error == "timed out looking up slow.test in DNS"
    assert time.monotonic() - start < 15  # not the resolver's 30 s (its thread is a daemon)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "224.0.0.251",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.0.8",
        "198.18.0.1",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",
        "64:ff9b:1::1",
        "2002:a00:1::1",
        "2002:7f00:1::",
        "2001::1",
        "::127.0.0.1",
        "not-an-address",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refused_because(address) is not None


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert refused_because(address) is None


def test_refusal_reasons_say_what_the_address_is() -> None:
    assert refused_because("127.0.0.1") == "loopback"
    assert refused_because("169.254.169.254") == "link-local"
    assert refused_because("10.0.0.1") == "private"
    assert refused_because("100.64.0.1") == "carrier-grade NAT"
    assert refused_because("::ffff:127.0.0.1") == "IPv4-mapped loopback"
    assert refused_because("fec0::1") == "site-local"


def test_allow_hosts_entries_must_name_a_port() -> None:
    with pytest.raises(ValueError, match="host:port"):
        check_url("http://127.0.0.1/", NOW, allow_hosts={"127.0.0.1"})


# --- TLS: the pinned connection still names the host ------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for liveness.test only (not for 127.0.0.1)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=liveness.test",
            "-addext",
            "subjectAltName=DNS:liveness.test",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_server(certificate: tuple[Path, Path]) -> Iterator[TlsServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    yield from _serve(TlsServer(context))  # type: ignore[misc]


def test_https_sends_the_host_name_as_sni_and_checks_the_certificate_against_it(
    tls_server: TlsServer, certificate: tuple[Path, Path]
) -> None:
    tls_server.seen.clear()
    tls_server.sni.clear()
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    port = tls_server.port
    dns = Dns({"liveness.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    allowed = {f"liveness.test:{port}", f"other.test:{port}"}

    result = check_url(
        f"https://liveness.test:{port}/page",
        NOW,
        allow_hosts=allowed,
        resolver=dns,
        ssl_context=trust,
    )
    assert result.state == "up", result.error
    assert tls_server.sni == ["liveness.test"]
    assert tls_server.seen[0].headers["host"] == f"liveness.test:{port}"

    # Same address, another name: the certificate does not match it, so no request is made.
    wrong = check_url(
        f"https://other.test:{port}/page", NOW, allow_hosts=allowed, resolver=dns, ssl_context=trust
    )
    assert wrong.state == "error"
    assert "TLS error" in (wrong.error or "")
    assert "certificate" in (wrong.error or "").lower()
    assert len(tls_server.seen) == 1
