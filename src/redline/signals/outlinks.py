"""Links found in posts (outlinks), canonicalised and classified by what kind of host they go to.

Referral units work from outlinks: a channel's posts point at file lockers, paste sites, archive
copies and invitations to other channels, and the kind of host says what a reviewer should do with
a link (a file locker gets a removal request, an invitation shows where a network moves next).
Nothing here touches the network: links are found in text, canonicalised by
``redline.signals.url.canonicalise`` and classified from the canonical URL alone.

The host classes are data (``HOST_CLASSES``, ``PATH_CLASSES``): add a host there, not code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from redline.signals.url import SHORTENERS, BadUrl, canonicalise

FILE_SHARING = "file_sharing"
PASTE = "paste"
ARCHIVE = "archive"
MESSAGING_INVITE = "messaging_invite"
MESSAGING = "messaging"
VIDEO = "video"
SOCIAL = "social"
SHORTENER = "shortener"
NEWS = "news"
OTHER = "other"
HOST_CLASS_NAMES = (
    FILE_SHARING,
    PASTE,
    ARCHIVE,
    MESSAGING_INVITE,
    MESSAGING,
    VIDEO,
    SOCIAL,
    SHORTENER,
    NEWS,
    OTHER,
)


def _hosts(host_class: str, *hosts: str) -> dict[str, str]:
    return dict.fromkeys(hosts, host_class)


# Host (a registrable domain or a more specific subdomain) -> class. A host matches itself and
# every subdomain (www., m., dl. ...); the most specific entry wins. Opaque shorteners come last
# so they win over any other class (fb.me is Facebook's, but where it leads is unknown offline).
HOST_CLASSES: dict[str, str] = {
    **_hosts(
        FILE_SHARING,
        "mega.nz",
        "mega.co.nz",
        "mega.io",
        "mediafire.com",
        "drive.google.com",
        "docs.google.com",
        "dropbox.com",
        "dropboxusercontent.com",
        "db.tt",
        "4shared.com",
        "zippyshare.com",
        "file.io",
        "top4top.io",
        "top4top.net",
        "gulfup.com",
        "gulfup.co",
        "sendspace.com",
        "uploadfiles.io",
        "gofile.io",
        "anonfiles.com",
        "bayfiles.com",
        "pixeldrain.com",
        "files.fm",
        "ufile.io",
        "solidfiles.com",
        "uptobox.com",
        "1fichier.com",
        "onedrive.live.com",
        "1drv.ms",
        "wetransfer.com",
        "we.tl",
        "box.com",
        "krakenfiles.com",
        "catbox.moe",
        "filemail.com",
        "nitroflare.com",
        "rapidgator.net",
        "uploaded.net",
        "upload.ee",
        "mixdrop.co",
        "dosya.co",
    ),
    **_hosts(
        PASTE,
        "justpaste.it",
        "jpst.it",
        "pastebin.com",
        "paste.ee",
        "controlc.com",
        "dpaste.com",
        "dpaste.org",
        "ghostbin.com",
        "ghostbin.co",
        "rentry.co",
        "rentry.org",
        "telegra.ph",
        "pastelink.net",
        "privatebin.net",
        "hastebin.com",
        "paste2.org",
        "notes.io",
        "write.as",
        "txt.fyi",
        "justpaste.me",
    ),
    **_hosts(
        ARCHIVE,
        "archive.org",
        "archive.today",
        "archive.is",
        "archive.ph",
        "archive.li",
        "archive.vn",
        "archive.md",
        "archive.fo",
        "ghostarchive.org",
        "perma.cc",
        "webcitation.org",
    ),
    **_hosts(
        MESSAGING_INVITE,
        "chat.whatsapp.com",
        "discord.gg",
        "signal.group",
        "join.skype.com",
    ),
    **_hosts(
        MESSAGING,
        "t.me",
        "telegram.me",
        "telegram.dog",
        "wa.me",
        "whatsapp.com",
        "discord.com",
        "discordapp.com",
        "matrix.to",
        "tamtam.chat",
        "element.io",
    ),
    **_hosts(
        VIDEO,
        "youtube.com",
        "youtu.be",
        "youtube-nocookie.com",
        "vimeo.com",
        "dailymotion.com",
        "dai.ly",
        "rumble.com",
        "bitchute.com",
        "odysee.com",
        "lbry.tv",
        "twitch.tv",
        "streamable.com",
        "vid.me",
        "liveleak.com",
    ),
    **_hosts(
        SOCIAL,
        "twitter.com",
        "x.com",
        "facebook.com",
        "fb.com",
        "instagram.com",
        "tiktok.com",
        "vk.com",
        "reddit.com",
        "redd.it",
        "linkedin.com",
        "threads.net",
        "threads.com",
        "gab.com",
        "truthsocial.com",
        "minds.com",
        "mastodon.social",
        "bsky.app",
        "tumblr.com",
        "pinterest.com",
        "ok.ru",
        "snapchat.com",
        "gettr.com",
        "parler.com",
    ),
    # A sample of major outlets, so a reviewer sees reporting for what it is; extend freely.
    **_hosts(
        NEWS,
        "bbc.com",
        "bbc.co.uk",
        "reuters.com",
        "apnews.com",
        "aljazeera.com",
        "aljazeera.net",
        "nytimes.com",
        "theguardian.com",
        "cnn.com",
        "washingtonpost.com",
        "france24.com",
        "alarabiya.net",
        "skynewsarabia.com",
        "dw.com",
        "aa.com.tr",
        "middleeasteye.net",
        "rudaw.net",
        "independent.co.uk",
        "dailymail.co.uk",
        "rt.com",
        "vice.com",
        "thedailybeast.com",
        "economist.com",
        "haaretz.com",
        "dailystar.com.lb",
        "lemonde.fr",
        "bloomberg.com",
        "wsj.com",
        "npr.org",
        "euronews.com",
        "afp.com",
        "asharq-al-awsat.com",
        "aawsat.com",
        "alquds.co.uk",
        "enabbaladi.net",
        "syriahr.com",
        "telegraph.co.uk",
        "ap.org",
        "jpost.com",
        "newsweek.com",
        "usatoday.com",
        "hurriyetdailynews.com",
        "alaraby.co.uk",
        "al-monitor.com",
        "longwarjournal.org",
    ),
    # Shorteners redline.signals.url does not know; that module's SHORTENERS are added below.
    **_hosts(
        SHORTENER,
        "rb.gy",
        "t.ly",
        "s.id",
        "shorte.st",
        "adf.ly",
        "bit.do",
        "j.mp",
        "bitly.com",
        "tr.im",
        "wp.me",
        "amzn.to",
        "linkis.com",
        "ln.is",
        "po.st",
        "cutt.us",
        "soo.gd",
        "qr.ae",
    ),
    **_hosts(SHORTENER, *SHORTENERS),
}

# Host -> (path prefix, class) rules checked before the host's own class: the same host carries
# invitations (which open a private group to whoever has the link) and public channels.
PATH_CLASSES: dict[str, tuple[tuple[str, str], ...]] = {
    "t.me": (
        ("/joinchat/", MESSAGING_INVITE),
        ("/+", MESSAGING_INVITE),
        ("/%2B", MESSAGING_INVITE),  # "+" written percent-encoded
        ("/addlist/", MESSAGING_INVITE),  # a shared folder of chats
    ),
    "telegram.me": (("/joinchat/", MESSAGING_INVITE), ("/+", MESSAGING_INVITE)),
    "discord.com": (("/invite/", MESSAGING_INVITE),),
    "discordapp.com": (("/invite/", MESSAGING_INVITE),),
    "whatsapp.com": (("/channel/", MESSAGING),),
}


def _suffixes(host: str) -> list[str]:
    """``a.b.example.com`` -> itself, ``b.example.com``, ``example.com`` (most specific first)."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def classify_host(host: str) -> str:
    """The class of a host by name alone (a ``HOST_CLASS_NAMES`` value, ``other`` if unknown)."""
    for suffix in _suffixes(host.strip().rstrip(".").lower()):
        found = HOST_CLASSES.get(suffix)
        if found is not None:
            return found
    return OTHER


def _host_and_path(canonical_url: str) -> tuple[str, str] | None:
    """A canonical URL's host (no trailing dot) and path; None when it does not parse."""
    text = canonical_url if "://" in canonical_url else "https://" + canonical_url
    try:
        parts = urlsplit(text)
        return (parts.hostname or "").rstrip("."), parts.path
    except ValueError:
        return None


def classify(canonical_url: str) -> str:
    """The class of a (canonical) URL: by path where the host needs it (t.me invites), else host."""
    split = _host_and_path(canonical_url)
    if split is None:
        return OTHER
    host, path = split
    for suffix in _suffixes(host):
        for prefix, host_class in PATH_CLASSES.get(suffix, ()):
            if path.startswith(prefix):
                return host_class
        found = HOST_CLASSES.get(suffix)
        if found is not None:
            return found
    return OTHER


# --- Placeholders ------------------------------------------------------------------------------

# Pages a platform shows instead of the content: a suspended account, a browser it will not
# serve, a sign-in, paywall or consent wall. Exports keep them as the post's link (in the two
# shared tweet files some 2,700 posts link twitter.com/account/suspended and over 550
# facebook.com/unsupportedbrowser), so they would top every outlinks list while saying nothing
# about where content lives: the lists keep them apart. (host or a parent domain of it, path
# prefix); canonical URLs, so x.com and mobile.twitter.com are twitter.com here.
PLACEHOLDERS: Final = (
    ("twitter.com", "/account/suspended"),
    ("twitter.com", "/i/flow/login"),
    ("facebook.com", "/unsupportedbrowser"),
    ("facebook.com", "/login"),
    ("facebook.com", "/checkpoint"),
    ("instagram.com", "/accounts/login"),
    ("instagram.com", "/challenge"),
    ("myaccount.nytimes.com", "/auth/login"),
    ("consent.youtube.com", "/"),
    ("consent.google.com", "/"),
)


def is_placeholder(canonical_url: str) -> bool:
    """Whether a (canonical) URL is a platform's stand-in page, not content (``PLACEHOLDERS``)."""
    split = _host_and_path(canonical_url)
    if split is None:
        return False
    host, path = split
    suffixes = _suffixes(host)
    return any(domain in suffixes and path.startswith(prefix) for domain, prefix in PLACEHOLDERS)


# --- Finding links in text -------------------------------------------------------------------

# Characters that end a link: whitespace, characters URLs cannot contain that text uses around
# them (quotes, angle brackets, guillemets), the ellipsis that marks a cut-off link, and the
# invisible formatting characters that rich text leaves between a link and the next word.
_STOP = (
    r"\s<>\"“”‘’«»…|\\^`{}"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
)
_URL = re.compile(
    rf"(?:https?|ftp)://[^{_STOP}]*"
    # Scheme-less: a host name, not inside a longer host, path or e-mail address, then maybe a
    # path. Arabic letters may touch it (only ASCII is refused before it). Kept only when the host
    # starts with "www." or is a known host with a path (checked in _accept).
    rf"|(?<![a-z0-9_.@/-])(?:[a-z0-9-]+\.)+[a-z]{{2,}}(?:[/?#][^{_STOP}]*)?",
    re.IGNORECASE,
)
# Trailing characters that belong to the sentence, not the link (Arabic and CJK ones included).
_TRAILING = frozenset(".,;:!?'*_~،؛؟۔。，、！？")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
# Hosts whose paths are ASCII-only, so Arabic (or any non-ASCII) text touching the link is the
# next word, not part of it: Telegram, X and YouTube names and ids, and the short links.
_ASCII_PATH_HOSTS = (
    frozenset({"t.me", "telegram.me", "twitter.com", "x.com", "youtube.com", "youtu.be"})
    | SHORTENERS
)
_SCHEME = re.compile(r"(?:https?|ftp)://", re.IGNORECASE)
# HTML character references the exports leave in text (Twitter's "&amp;", "&#38;"). Only these and
# only with their semicolon: a full html.unescape would also turn "&copy=1" in a query into "©=1".
_ENTITY = re.compile(r"&(amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-f]{1,6});", re.IGNORECASE)
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _entity(match: re.Match[str]) -> str:
    name = match.group(1).lower()
    if name in _NAMED:
        return _NAMED[name]
    code = int(name[2:], 16) if name.startswith("#x") else int(name[1:])
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)


def _unescape(text: str) -> str:
    # Twice: scraped text is sometimes escaped twice ("&amp;amp;").
    for _ in range(2):
        if "&" not in text:
            break
        text = _ENTITY.sub(_entity, text)
    return text


def _host_of(url: str) -> str:
    scheme = _SCHEME.match(url)
    rest = url[scheme.end() :] if scheme else url
    for stop in "/?#":
        rest = rest.split(stop, 1)[0]
    host = rest.rsplit("@", 1)[-1]  # user:password@host
    if host.startswith("["):
        return host
    return host.split(":", 1)[0].lower()


def _trim(url: str) -> str:
    """``url`` without the sentence punctuation and unbalanced closing brackets after it."""
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last in _CLOSERS and url.count(last) > url.count(_CLOSERS[last]):
            url = url[:-1]  # "(see example.org/a)" -- but "wiki/Foo_(bar)" keeps its bracket
        else:
            break
    return url


def _ascii_path(url: str, host: str) -> str:
    if not any(host == h or host.endswith("." + h) for h in _ASCII_PATH_HOSTS):
        return url
    for index, char in enumerate(url):
        if not char.isascii():
            return url[:index]
    return url


def _accept(url: str, scheme: bool) -> str | None:
    """The link as it should be reported, or None when it is not one."""
    host = _host_of(url)
    if "." not in host.strip(".") and not host.startswith("["):
        return None  # "https://" alone, "http://localhost"
    if not scheme:
        rest = url[len(host) :]
        known = classify_host(host) != OTHER
        if not (host.startswith("www.") or (known and len(rest) > 1)):
            return None  # "file.txt", "Mr.Smith", or a known host named without a path
    return _trim(_ascii_path(url, host)) or None


def extract_urls(text: str) -> list[str]:
    """Every link in ``text``, in order, each once; links cut short by an ellipsis are skipped.

    Finds links with a scheme, ``www.`` links and scheme-less links to known hosts
    (``justpaste.it/abc``, ``t.me/channel``). Trailing punctuation and unbalanced closing brackets
    are not part of a link; HTML-escaped ampersands are decoded. A link that runs into "…" (or into
    "..." that ends the post) was truncated by a retweet or a preview, and its tail is unknown, so
    it is left out rather than reported as a wrong, shorter link.
    """
    if "." not in text:  # every link has a dot in its host: most posts leave here
        return []
    text = _unescape(text)
    found: list[str] = []
    seen: set[str] = set()
    for match in _URL.finditer(text):
        raw, end = match.group(0), match.end()
        if text.startswith("…", end) or (raw.endswith("...") and not text[end:].strip()):
            continue
        url = _accept(raw, scheme=bool(_SCHEME.match(raw)))
        if url is not None and url not in seen:
            seen.add(url)
            found.append(url)
    return found


@dataclass(frozen=True, slots=True)
class Outlink:
    """A link found in a post: as written, canonical, and what kind of host it goes to."""

    original: str
    canonical: str
    host: str
    host_class: str
    unwrapped_from: str | None = None  # the redirect wrapper's host, when one was removed
    shortener: bool = False  # an opaque short link: where it leads is unknown offline


def outlinks(text: str) -> list[Outlink]:
    """The links in ``text``, canonicalised and classified, each target once, in order.

    Links ``canonicalise`` refuses (not a web address) are skipped: a post is not bad input
    because it contains something that looks like a link.
    """
    found: list[Outlink] = []
    seen: set[str] = set()
    for url in extract_urls(text):
        try:
            canonical = canonicalise(url)
        except BadUrl:
            continue
        if canonical.canonical in seen:
            continue
        seen.add(canonical.canonical)
        host_class = classify(canonical.canonical)
        found.append(
            Outlink(
                original=url,
                canonical=canonical.canonical,
                host=canonical.host,
                host_class=host_class,
                unwrapped_from=canonical.unwrapped_from,
                shortener=canonical.shortener or host_class == SHORTENER,
            )
        )
    return found
