"""Convert a text model saved by an older redline (a joblib pickle) to the model file redline
loads now (arrays in an ``.npz``, no pickle: ``redline.classify.modelfile``).

    python scripts/convert-model.py OLD.joblib NEW.npz

Reading the old file unpickles it, and unpickling runs any code the file names: run this only on
a file you trust (one your own team trained). redline itself no longer reads pickles, which is the
point of the new format; this one-off step is where the trust is asked for, once. It needs
scikit-learn and joblib (the old file's classes), as training does.

Before writing, the converted model's raw scores are compared with the old model's, computed by
the old scikit-learn objects themselves, on texts made of the model's own vocabulary; the
conversion is refused unless they agree to 1e-9.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy import sparse

from redline.classify.features import prepare
from redline.classify.model import TextModel
from redline.classify.train import fitted_model


def _load_old(path: Path) -> dict[str, Any]:
    # The old pickle names today's TextModel class, and unpickling sets its attributes without
    # calling any of its code: the old ones (scikit-learn's vectoriser and models) are read here.
    old = joblib.load(path)
    if not isinstance(old, TextModel):
        raise SystemExit(f"{path}: not a redline text model (a {type(old).__name__})")
    return vars(old)


def _check(old: dict[str, Any], new: Any) -> float:
    names = [str(n) for n in old["word"].get_feature_names_out()]
    texts = [" ".join(names[start : start + 25]) for start in range(0, min(len(names), 5000), 25)]
    texts.append("a sentence of ordinary words about the weather and the market")
    prepared = [prepare(t) for t in texts]
    matrix = sparse.hstack(
        [old["word"].transform(prepared), old["char"].transform(prepared)]
    ).tocsr()
    before = old["linear"].decision_function(matrix)
    after = new.linear.decision_function(new.features(prepared))
    return float(np.max(np.abs(before - after)))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="the joblib model file (trusted)")
    parser.add_argument("new", type=Path, help="the .npz model file to write")
    args = parser.parse_args(argv)
    try:
        old = _load_old(args.old)
    except (pickle.UnpicklingError, EOFError, OSError, ValueError) as error:
        raise SystemExit(f"{args.old}: cannot read it as a joblib model: {error}") from None
    new = fitted_model(
        old["word"],
        old["char"],
        old["linear"],
        old["calibration"],
        old["threshold"],
        old["categories"],
        old["meta"],
        old.get("second"),
    )
    difference = _check(old, new)
    if difference > 1e-9:
        raise SystemExit(f"the converted model scores differently (by up to {difference:.2e})")
    new.save(args.new)
    print(
        f"{args.new}: {new.version}, {args.new.stat().st_size:,} bytes; raw scores as before "
        f"(largest difference {difference:.1e}); meta in {args.new.with_suffix('.json')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
