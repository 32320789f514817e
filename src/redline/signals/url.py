"""The URL signal: canonical forms of links, so the same target is recognised however it is written.

Referral units work from outlinks, and one target is written many ways: scheme and host case,
default ports, tracking parameters, mobile hosts, redirect wrappers (``l.facebook.com/l.php?u=``).
``canonicalise`` reduces those to one canonical string without any network access. Opaque
shorteners (t.co, bit.ly) cannot be resolved offline: their canonical form is the normalised short
link itself, flagged as a shortener, and the original is always kept beside it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

SIGNAL_TYPE = "url"

_SCHEMES = {"http", "https", "ftp"}
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}

# Parameters that only say where a click came from, never what is linked to.
_TRACKING = {
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "igsh",
    "_ga",
    "_gl",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "spm",
    "ref_src",
    "ref_url",
    "__s",
    "__hstc",
    "__hssc",
    "__hsfp",
    "hsctatracking",
    "trk",
}
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
# Per-site parameters that are share-tracking on that site but could mean something elsewhere.
_SITE_TRACKING = {
    "twitter.com": {"s", "t", "ref"},
    "www.youtube.com": {"feature", "si", "pp", "ab_channel"},
    "www.facebook.com": {"mibextid", "rdid", "sfnsn", "ref"},
    "www.instagram.com": {"utm_source", "hl"},
    "t.me": {"single"},
}
_HOST_ALIASES = {
    "x.com": "twitter.com",
    "www.x.com": "twitter.com",
    "www.twitter.com": "twitter.com",
    "mobile.twitter.com": "twitter.com",
    "m.twitter.com": "twitter.com",
    "youtube.com": "www.youtube.com",
    "m.youtube.com": "www.youtube.com",
    "facebook.com": "www.facebook.com",
    "m.facebook.com": "www.facebook.com",
    "mbasic.facebook.com": "www.facebook.com",
    "instagram.com": "www.instagram.com",
    "telegram.me": "t.me",
    "www.t.me": "t.me",
}
# Redirect wrappers: (host, path) -> the query parameter that holds the real target.
_WRAPPERS = {
    ("l.facebook.com", "/l.php"): "u",
    ("lm.facebook.com", "/l.php"): "u",
    ("l.messenger.com", "/l.php"): "u",
    ("l.instagram.com", "/"): "u",
    ("www.google.com", "/url"): "q",
    ("google.com", "/url"): "q",
    ("www.youtube.com", "/redirect"): "q",
    ("vk.com", "/away.php"): "to",
    ("steamcommunity.com", "/linkfilter/"): "url",
    ("t.umblr.com", "/redirect"): "z",
    ("slack-redir.net", "/link"): "url",
    ("www.linkedin.com", "/redir/redirect"): "url",
}
SHORTENERS = frozenset(
    {
        "t.co",
        "bit.ly",
        "goo.gl",
        "tinyurl.com",
        "ow.ly",
        "buff.ly",
        "is.gd",
        "dlvr.it",
        "ift.tt",
        "fb.me",
        "tiny.cc",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "v.gd",
        "lnkd.in",
        "trib.al",
    }
)
_UNRESERVED = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class BadUrl(ValueError):
    """Text that is not a web address redline can canonicalise."""


@dataclass(frozen=True, slots=True)
class CanonicalUrl:
    """A URL as written and its canonical form."""

    original: str
    canonical: str
    host: str
    unwrapped_from: str | None = None  # the redirect wrapper's host, when one was removed
    shortener: bool = False  # an opaque short link: its target is unknown offline

    def meta(self) -> dict[str, object]:
        """What a Signal row keeps beside the canonical value."""
        meta: dict[str, object] = {"original": self.original, "host": self.host}
        if self.unwrapped_from:
            meta["unwrapped_from"] = self.unwrapped_from
        if self.shortener:
            meta["shortener"] = True
        return meta


def _normalise_escapes(part: str) -> str:
    # Decode escapes of unreserved characters, upper-case the rest: RFC 3986 section 6.2.2.
    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED_CHARS else "%" + match.group(1).upper()

    return _UNRESERVED.sub(fix, part)


def _path(path: str) -> str:
    if not path:
        return "/"
    normalised = posixpath.normpath(path)
    if path.endswith("/") and normalised != "/":
        normalised += "/"
    if normalised.startswith("//"):  # posixpath keeps a leading double slash
        normalised = "/" + normalised.lstrip("/")
    return quote(_normalise_escapes(normalised), safe="/%:@!$&'()*+,;=-._~")


def _host(netloc_host: str | None) -> str:
    if not netloc_host:
        raise BadUrl("no host")
    host = netloc_host.rstrip(".").lower()
    if not host:
        raise BadUrl("no host")
    if ":" in host:  # an IPv6 literal; urlsplit took its brackets off
        return f"[{host}]"
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        if host.isascii():
            return host
        raise BadUrl(f"host {host!r} is not a valid domain name") from None


def canonicalise(url: str, _depth: int = 0) -> CanonicalUrl:
    """The canonical form of ``url``; BadUrl when it is not an http(s)/ftp address."""
    original = url.strip()
    text = original.strip("<>\"'")
    if not text:
        raise BadUrl("empty URL")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise BadUrl("a URL cannot contain spaces or control characters")
    if text.startswith("//"):
        text = "https:" + text
    elif "://" not in text:
        scheme = text.split(":", 1)[0].lower() if ":" in text else ""
        if scheme and scheme not in _SCHEMES and "." not in scheme:
            raise BadUrl(f"not a web address (scheme {scheme!r})")
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise BadUrl(f"unreadable URL: {error}") from error
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise BadUrl(f"not a web address (scheme {scheme!r})")
    host = _host(parts.hostname)
    if "." not in host and host != "localhost" and not host.startswith("["):
        raise BadUrl(f"host {host!r} has no domain")
    host = _HOST_ALIASES.get(host, host)
    path = _path(parts.path)
    query = parse_qsl(parts.query, keep_blank_values=True)

    wrapped = _WRAPPERS.get((host, path))
    if wrapped and _depth < 3:
        target = dict(query).get(wrapped)
        if target and "://" in target:
            try:
                inner = canonicalise(unquote(target) if "%" in target else target, _depth + 1)
            except BadUrl:
                pass
            else:
                return CanonicalUrl(original, inner.canonical, inner.host, host, inner.shortener)

    if host == "youtu.be" and path.strip("/"):
        query = [("v", path.strip("/")), *query]
        host, path = "www.youtube.com", "/watch"
    site_tracking = _SITE_TRACKING.get(host, set())
    kept = sorted(
        (key, value)
        for key, value in query
        if key.lower() not in _TRACKING
        and not key.lower().startswith(_TRACKING_PREFIXES)
        and key not in site_tracking
    )
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    fragment = parts.fragment if parts.fragment.startswith("!") else ""  # #! routes are paths
    canonical = urlunsplit((scheme, netloc, path, urlencode(kept, quote_via=quote), fragment))
    return CanonicalUrl(original, canonical, host, None, host in SHORTENERS)
