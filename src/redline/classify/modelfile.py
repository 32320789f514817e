"""The text model's file: numbers and strings in one ``.npz``, nothing that runs when read.

Models used to be joblib files, and a joblib file is a pickle: loading it runs whatever code the
file names. A team scoring with a model someone sent them (``--model PATH``) would have run that
someone's code. This file is a zip of ``.npy`` arrays (numeric, or fixed-width strings), written
and read with ``allow_pickle=False``: numpy refuses an object array inside rather than unpickling
it, and a file that is not such a zip is refused before numpy reads it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

FORMAT = "redline-text-model/1"
SUFFIX = ".npz"
CONVERT = "scripts/convert-model.py"
# The first bytes of a pickle (protocol 2 and later) and of joblib's compressed pickles (zlib,
# gzip, bz2, xz, lzma, lz4).
_PICKLED = (
    b"\x80",
    b"\x78",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"\x5d\x00\x00",
    b"\x04\x22\x4d\x18",
)
_ZIP = b"PK\x03\x04"


def write(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` (compressed: the shipped model must stay under 25 MB) to ``path`` as it is
    named (numpy would add ``.npz`` to a name without it)."""
    with path.open("wb") as stream:
        np.savez_compressed(stream, allow_pickle=False, format=np.array(FORMAT), **arrays)


def read(path: Path) -> dict[str, np.ndarray]:
    """The arrays of the model file at ``path``; ValueError, naming the file, for anything else."""
    with path.open("rb") as stream:
        head = stream.read(8)
    if not head.startswith(_ZIP):
        if path.suffix in {".joblib", ".pkl", ".pickle"} or head.startswith(_PICKLED):
            raise ValueError(
                f"{path} is not a redline text model: it looks like a pickled (joblib) model, "
                "which redline no longer loads, as loading a pickle runs code from the file. "
                f"If you trust where it came from, convert it once: python {CONVERT} {path} "
                f"{path.with_suffix(SUFFIX)}"
            )
        raise ValueError(f"{path} is not a redline text model ({SUFFIX} file)")
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        # ValueError: an object array, which only a pickle could fill.
        raise ValueError(f"{path} is not a redline text model: {error}") from None
    if not all(isinstance(array, np.ndarray) for array in arrays.values()):
        raise ValueError(f"{path} is not a redline text model: a member is not an array")
    found = arrays.get("format")
    if found is None or found.shape != () or str(found) != FORMAT:
        raise ValueError(f"{path} is not a redline text model ({FORMAT})")
    return arrays
