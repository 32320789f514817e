"""How hard the fuzz harnesses and the API conformance run try, and how many inputs they ran.

``make test`` runs every harness briefly and the same way every time (derandomised, no example
database), so CI is deterministic. ``make fuzz`` sets ``REDLINE_FUZZ=long``: many more examples,
random each run, and failures kept in Hypothesis's example database (``.hypothesis/``, not in the
repository) so the next run tries them first. ``REDLINE_FUZZ_EXAMPLES`` overrides the count.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Final

from hypothesis import HealthCheck, settings

LONG: Final = os.environ.get("REDLINE_FUZZ", "").lower() == "long"
EXAMPLES: Final = int(os.environ.get("REDLINE_FUZZ_EXAMPLES") or (2000 if LONG else 60))
# The API conformance run sends a request per example, for each operation and role.
API_EXAMPLES: Final = int(os.environ.get("REDLINE_FUZZ_API_EXAMPLES") or (100 if LONG else 6))

# Inputs each harness ran, printed at the end of the session (tests/fuzz/summary.py).
executions: Counter[str] = Counter()


def fuzz_settings(examples: int = EXAMPLES) -> settings:
    """Hypothesis settings for one harness under the current budget."""
    return settings(
        max_examples=examples,
        derandomize=not LONG,
        database=settings.default.database if LONG else None,
        deadline=None,
        print_blob=LONG,
        suppress_health_check=list(HealthCheck),
    )
