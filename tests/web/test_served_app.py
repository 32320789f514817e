"""The app as a server process builds it (``redline serve``, ``uvicorn --factory``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, json
from fastapi.testclient import TestClient
from redline.web.app import served_app
app = served_app()
frozen = gc.get_freeze_count()
answer = TestClient(app).get("/hma/status")
print(json.dumps({"frozen": frozen, "status": answer.status_code, "body": answer.text}))
"""


def test_a_served_app_answers_with_its_start_up_objects_frozen(tmp_path: Path) -> None:
    # In its own process: freezing is for a process that serves, never for the test runner.
    env = {
        **os.environ,
        "REDLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'redline.db'}",
        "REDLINE_DATA_DIR": str(tmp_path / "data"),
    }
    subprocess.run(
        [sys.executable, "-m", "redline", "db", "upgrade"], env=env, check=True, timeout=120
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["status"] == 200
    # Everything start-up built (framework, routes, templates) sits outside the collector's
    # walks: tens of thousands of objects at least.
    assert found["frozen"] > 20_000, found
