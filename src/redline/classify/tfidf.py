"""L2 row normalisation of TF-IDF rows, computed as scikit-learn computes it, without it.

Both feature sets (``wordgrams.py``, ``chargrams.py``) end with each row scaled to unit length.
Loading and scoring with the model must not import scikit-learn (over a second of CPU at every
worker's, server's and command's start), and a model trained with scikit-learn's vectoriser must
score the same to the last bit after conversion. So this is scikit-learn's own loop
(``inplace_csr_row_normalize_l2``): squares in the data's precision, summed in double in index
order, each value divided by the double norm, rows of zeros left alone. A numpy reduction would
sum pairwise and differ in the last bits.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from scipy import sparse


@nb.njit(cache=True)
def _normalise(data: np.ndarray, indptr: np.ndarray) -> None:
    for row in range(len(indptr) - 1):
        total = 0.0
        for k in range(indptr[row], indptr[row + 1]):
            total += data[k] * data[k]
        if total == 0.0:
            continue
        norm = np.sqrt(total)
        for k in range(indptr[row], indptr[row + 1]):
            data[k] /= norm


def l2_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """``matrix`` with each row scaled to unit L2 length, in place."""
    # One index type for both feature sets: each compiled variant costs a tenth of a second or
    # more to load at a process's first text.
    _normalise(matrix.data, matrix.indptr.astype(np.int64, copy=False))
    return matrix
