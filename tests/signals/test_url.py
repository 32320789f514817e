"""Canonical URLs: one form for one target, the original always kept, nothing fetched."""

from __future__ import annotations

import re

import pytest

from redline.signals.url import BadUrl, canonicalise


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        (
            "HTTPS://WWW.Example.COM:443/a/./b/../c?b=2&a=1#top",
            "https://www.example.com/a/c?a=1&b=2",
        ),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        (
            "https://example.com/p?utm_source=tw&utm_campaign=x&id=7&fbclid=abc",
            "https://example.com/p?id=7",
        ),
        ("https://example.com/%7Euser/%2f", "https://example.com/~user/%2F"),
        ("justpaste.it/i4xj", "https://justpaste.it/i4xj"),
        ("//cdn.example.org/f.js", "https://cdn.example.org/f.js"),
        ("https://x.com/someone/status/1?s=20&t=abc", "https://twitter.com/someone/status/1"),
        ("https://mobile.twitter.com/someone", "https://twitter.com/someone"),
        ("https://youtu.be/abc123?t=42&si=share", "https://www.youtube.com/watch?t=42&v=abc123"),
        (
            "https://m.youtube.com/watch?v=abc123&feature=share",
            "https://www.youtube.com/watch?v=abc123",
        ),
        ("https://telegram.me/somechannel", "https://t.me/somechannel"),
        ("https://twitter.com/#!/someone", "https://twitter.com/#!/someone"),
        ("https://пример.рф/", "https://xn--e1afmkfd.xn--p1ai/"),
        ("http://[2001:db8::1]:80/x", "http://[2001:db8::1]/x"),
        ("<https://example.org/quoted>", "https://example.org/quoted"),
    ],
)
def test_canonical_forms(written: str, canonical: str) -> None:
    result = canonicalise(written)
    assert result.canonical == canonical
    assert result.original == written.strip()


def test_redirect_wrappers_are_unwrapped_and_remembered() -> None:
    wrapped = (
        "https://l.facebook.com/l.php?u=https%3A%2F%2Fjustpaste.it%2Fabc%3Futm_medium%3Dx&h=AT0"
    )
    result = canonicalise(wrapped)
    assert (result.canonical, result.host, result.unwrapped_from) == (
        "https://justpaste.it/abc",
        "justpaste.it",
        "l.facebook.com",
    )
    assert result.meta() == {
        "original": wrapped,
        "host": "justpaste.it",
        "unwrapped_from": "l.facebook.com",
    }
    google = canonicalise("https://www.google.com/url?q=https://example.org/a&sa=D")
    assert google.canonical == "https://example.org/a"
    # A search is not a redirect, even with a URL in its query.
    search = canonicalise("https://www.google.com/search?q=https://example.org")
    assert search.host == "www.google.com" and search.unwrapped_from is None


def test_opaque_shorteners_stay_as_written_and_are_flagged() -> None:
    result = canonicalise("HTTPS://T.CO/yEbdo9Qhy5")
    assert (result.canonical, result.shortener) == (
        "https://t.co/yEbdo9Qhy5",
        True,
    )  # path case kept
    assert result.meta()["shortener"] is True
    assert canonicalise("https://example.com/").shortener is False


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty URL"),
        ("javascript:alert(1)", "not a web address (scheme 'javascript')"),
        ("mailto:someone@example.org", "not a web address (scheme 'mailto')"),
        ("http://exa mple.com", "cannot contain spaces"),
        ("https://", "no host"),
        ("https://localhost-without-dot/x", "has no domain"),
        ("http://example.com:99999/", "unreadable URL"),
    ],
)
def test_what_is_not_a_url(text: str, reason: str) -> None:
    with pytest.raises(BadUrl, match=re.escape(reason)):
        canonicalise(text)
