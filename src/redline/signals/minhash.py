"""The ``text_minhash`` signal: MinHash signatures of known texts, for text banks.

Known propaganda texts (statements, nasheed lyrics, magazine paragraphs) are banked as MinHash
signatures so that re-posts with small edits still match, as media hashes do for re-encoded
images; and, like a PDQ hash, a signature can be shared with another organisation without the text.

What is hashed: the set of character 5-grams ("shingles") of ``tokens_for_matching(text)``, each
encoded as UTF-8 (a text shorter than five characters is one shingle). Character shingles rather
than words because they survive spelling variants, joined or split words and Arabic morphology;
five characters because shorter ones are shared by most texts of a language, and longer ones make
a one-letter edit cost more of the similarity.

How it is hashed (signature version ``mh1``): datasketch 2.x ``MinHash(num_perm=128, seed=1,
scheme="affine32")`` with its default hash function (the first four bytes of each shingle's SHA-1,
little-endian). Those are datasketch's own defaults, so anyone with datasketch >= 2 and the same
shingles reproduces a signature exactly.

Text form: ``mh1:128:<payload>``, where the payload is the 128 hash values as unsigned 32-bit
little-endian integers (512 bytes), in base64 with the URL-safe alphabet and no padding (683
characters): safe in CSV, JSON and URL query strings (HMA's ``/m/lookup?signal=``). ``validate``
also accepts the standard alphabet and padding, and returns the form above.

Two signatures are compared by the fraction of positions where they agree, an estimate of the
Jaccard similarity of the two shingle sets (standard error about 0.035 near 0.8 with 128 values).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from redline.signals.base import (
    BadSignal,
    BankLookup,
    BankMatch,
    Comparison,
    Hash,
    Query,
    SignalType,
)
from redline.signals.textnorm import tokens_for_matching

if TYPE_CHECKING:
    from datasketch import MinHash

SIGNAL_NAME = "text_minhash"
VERSION = "mh1"
NUM_PERM = 128
SEED = 1  # datasketch's default, so a plain MinHash() elsewhere agrees
SCHEME = "affine32"
SHINGLE = 5
DEFAULT_THRESHOLD = 0.8
_PREFIX = f"{VERSION}:{NUM_PERM}:"
_PAYLOAD_BYTES = NUM_PERM * 4
_EMPTY = np.uint32(0xFFFFFFFF)  # every value at its maximum: the signature of the empty set
# Shingles are hashed in chunks so a long document does not allocate a (shingles x 128) array.
_CHUNK = 4096

HashValues = npt.NDArray[np.uint32]


@cache
def _datasketch_mh1() -> tuple[type[MinHash], Any]:
    """datasketch's MinHash class and the permutation parameters of ``mh1``, on first use.

    Imported here, not with this module: datasketch's package imports its LSH classes and with
    them scipy, half a second at each start of every ``redline`` command (``redline.signals`` is
    imported by the CLI, the server and the workers), most of which never make a signature. The
    parameters depend only on (seed, scheme, num_perm): drawn once and shared by every
    signature, instead of re-drawn from a fresh RandomState for each one.
    """
    from datasketch import MinHash

    return MinHash, MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def _compiled(reduced: Sequence[str]) -> npt.NDArray[np.uint32]:
    """``mh1.signatures`` of the reduced texts (numba, like datasketch, imported on first use)."""
    from redline.signals import mh1

    return mh1.signatures(reduced, *_compiled_parameters())


@cache
def _compiled_parameters() -> tuple[npt.NDArray[np.uint64], ...]:
    from redline.signals import mh1

    return mh1.parameters(_datasketch_mh1()[1])


def from_values(values: HashValues | None = None) -> MinHash:
    """A MinHash of signature version ``mh1``, empty or with the given 128 hash values."""
    minhash_class, permutations = _datasketch_mh1()
    return minhash_class(
        num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, hashvalues=values, permutations=permutations
    )


def _reduced(text: str) -> str:
    """``tokens_for_matching(text)``, what is shingled; BadSignal when nothing is left."""
    reduced = tokens_for_matching(text)
    if not reduced:
        if not text.strip():
            raise BadSignal("nothing to hash: the text is empty")
        raise BadSignal("nothing to hash: the text has no words (only links, mentions or symbols)")
    return reduced


def shingles(text: str) -> set[str]:
    """The character 5-grams of ``tokens_for_matching(text)``; BadSignal when nothing is left."""
    reduced = _reduced(text)
    if len(reduced) <= SHINGLE:
        return {reduced}
    return {reduced[i : i + SHINGLE] for i in range(len(reduced) - SHINGLE + 1)}


def signature(text: str) -> MinHash:
    """The MinHash signature of ``text``; BadSignal when it has nothing to hash."""
    return from_values(_compiled([_reduced(text)])[0])


def signature_values(texts: Sequence[str]) -> list[HashValues | None]:
    """The signature values of each text, all in one compiled pass (see ``redline.signals.mh1``);
    None for a text with nothing to hash (only links, mentions or emoji)."""
    reduced = [tokens_for_matching(text) for text in texts]
    hashable = [text for text in reduced if text]
    rows = iter(_compiled(hashable) if hashable else ())
    return [next(rows) if text else None for text in reduced]


def _signature(shingle_set: set[str]) -> MinHash:
    """datasketch's own signature of a set of shingles: what ``mh1.signatures`` must equal."""
    minhash = from_values()
    encoded = [s.encode("utf-8") for s in shingle_set]
    for start in range(0, len(encoded), _CHUNK):
        minhash.update_batch(encoded[start : start + _CHUNK])
    return minhash


def _check_version(minhash: MinHash) -> None:
    if (minhash.scheme, minhash.seed, len(minhash)) != (SCHEME, SEED, NUM_PERM):
        raise BadSignal(
            f"not a {VERSION} signature: scheme {minhash.scheme!r}, seed {minhash.seed}, "
            f"{len(minhash)} values (expected {SCHEME!r}, seed {SEED}, {NUM_PERM} values)"
        )


def values_of(minhash: MinHash) -> HashValues:
    """The 128 hash values of an ``mh1`` signature; BadSignal for another kind of MinHash."""
    _check_version(minhash)
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def serialise(minhash: MinHash) -> str:
    """The text form of a signature: ``mh1:128:`` and its values in URL-safe base64."""
    payload = values_of(minhash).astype("<u4").tobytes()
    return _PREFIX + base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


def parse_values(value: str) -> HashValues:
    """The 128 hash values of a signature's text form; BadSignal when it is not one."""
    parts = value.strip().split(":")
    if len(parts) != 3 or parts[0].lower() != VERSION:
        raise BadSignal(
            f"invalid {SIGNAL_NAME} signature {value[:40]!r}: expected {_PREFIX}<base64>"
            f" (signature version {VERSION})"
        )
    if parts[1] != str(NUM_PERM):
        raise BadSignal(
            f"invalid {SIGNAL_NAME} signature: {parts[1][:20]!r} values, {VERSION} has {NUM_PERM}"
        )
    payload = parts[2]
    # Accept the standard alphabet and padding too: some tools re-encode base64 their own way.
    payload = payload.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        raw = base64.b64decode(payload + "=" * (-len(payload) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise BadSignal(f"invalid {SIGNAL_NAME} signature: the payload is not base64") from None
    if len(raw) != _PAYLOAD_BYTES:
        raise BadSignal(
            f"invalid {SIGNAL_NAME} signature: {len(raw)} bytes of hash values, "
            f"expected {_PAYLOAD_BYTES} ({NUM_PERM} 32-bit values)"
        )
    values = np.frombuffer(raw, dtype="<u4").astype(np.uint32)
    if bool((values == _EMPTY).all()):
        # Never produced by ``signature`` (an empty text is refused); it would match every other
        # empty signature at Jaccard 1.0.
        raise BadSignal(f"invalid {SIGNAL_NAME} signature: the signature of an empty text")
    return values


def parse(value: str) -> MinHash:
    """The MinHash of a signature's text form (inverse of ``serialise``); BadSignal if invalid."""
    return from_values(parse_values(value))


def jaccard(a: MinHash, b: MinHash) -> float:
    """The estimated Jaccard similarity of two signatures' shingle sets."""
    _check_version(a)
    _check_version(b)
    return float(a.jaccard(b))


class TextMinHashSignal(SignalType):
    """MinHash of a text's character 5-grams: near-duplicate texts match at Jaccard >= 0.8."""

    name: ClassVar[str] = SIGNAL_NAME
    media_kinds: ClassVar[frozenset[str]] = frozenset({"text"})
    default_threshold: ClassVar[float] = DEFAULT_THRESHOLD

    @classmethod
    def validate(cls, value: str) -> str:
        return serialise(parse(value))

    @classmethod
    def compute_text(cls, text: str) -> list[Hash]:
        """The signature of ``text`` (with its shingle count); BadSignal for nothing to hash."""
        shingle_set = shingles(text)
        # The count lets a caller refuse to bank very short texts, which match too easily.
        return [Hash(serialise(signature(text)), meta={"shingles": len(shingle_set)})]

    @classmethod
    def compute(cls, path: Path) -> list[Hash]:
        """The signature of a UTF-8 text file's whole text."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            raise BadSignal(f"not UTF-8 text: {error}") from None
        except OSError as error:
            raise BadSignal(f"unreadable text file: {error}") from None
        return cls.compute_text(text)

    @classmethod
    def compare(cls, a: str, b: str, threshold: float | None = None) -> Comparison:
        similarity = jaccard(parse(a), parse(b))
        limit = DEFAULT_THRESHOLD if threshold is None else threshold
        return Comparison(similarity >= limit, 1 - similarity, {"jaccard": similarity})

    @classmethod
    def match(
        cls, lookup: BankLookup, queries: Sequence[Query], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        """Matches of each signature: estimated Jaccard at or above the bank's threshold."""
        return _match(
            lookup,
            lambda: [parse_values(q.value) for q in queries],
            len(queries),
            include_disabled_banks,
        )

    @classmethod
    def match_texts(
        cls, lookup: BankLookup, texts: Sequence[str], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        """Matches of each text's signature (none for a text with nothing to hash)."""
        return _match(lookup, lambda: signature_values(texts), len(texts), include_disabled_banks)


def _match(
    lookup: BankLookup,
    signatures_of: Callable[[], Sequence[HashValues | None]],
    count: int,
    include_disabled_banks: bool,
) -> list[list[BankMatch]]:
    """Matches of each of ``count`` signatures, made by ``signatures_of()`` only when there is a
    text bank to match against (most scans have none)."""
    banks = lookup.banks()
    usable = [b for b in banks.values() if include_disabled_banks or b.enabled]
    results: list[list[BankMatch]] = [[] for _ in range(count)]
    index = lookup.texts(SIGNAL_NAME)
    if not usable or len(index) == 0:
        return results
    lowest = min(b.text_threshold for b in usable)
    found = [[] if values is None else index.search(values, lowest) for values in signatures_of()]
    # One look-up of the entries behind all the hits: most texts have none, and a look-up per
    # text was a database round trip (and a pool check-out) per text.
    entries = lookup.entries(signal_id for hits in found for signal_id, _ in hits)
    for position, hits in enumerate(found):
        seen: set[int] = set()
        for signal_id, similarity in hits:
            entry = entries.get(signal_id)
            if entry is None or entry.entry_id in seen:
                continue
            bank = banks.get(entry.bank_id)
            if bank is None or not bank.usable(entry.enabled, include_disabled_banks):
                continue
            if similarity < bank.text_threshold:
                continue
            seen.add(entry.entry_id)
            results[position].append(
                BankMatch(
                    bank.name,
                    bank.id,
                    entry.entry_id,
                    SIGNAL_NAME,
                    round(1 - similarity, 4),
                    entry.category,
                    bank.confirmed,
                    {"jaccard": round(similarity, 4)},
                )
            )
    return results
