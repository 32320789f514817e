"""A Telegram export of any size is read in bounded memory.

The reader used to load result.json whole and parse it into one document: a 150 MB export grew
the process by 460 MB, and a whole-account export of several GB could not be read at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXPORT_BYTES = 110_000_000
MAX_GROWTH_KB = 150_000  # peak RSS above a run on a tiny export

# Runs `redline ingest` and reports the process's own peak RSS in KB. VmHWM, not getrusage's
# ru_maxrss: that one keeps the peak of the forked parent (pytest) across exec.
_MEASURED = """
import re, sys
from redline.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as done:
    code = done.code or 0
with open("/proc/self/status") as status:
    peak = re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)
print("peak", peak, code, file=sys.stderr)
"""


def _write_export(path: Path, chats: int, target_bytes: int) -> int:
    """A whole-account export of ``chats`` chats, about ``target_bytes`` long; its message count."""
    filler = "Generic synthetic post about the weather and the town market, café included. " * 72
    per_chat = max(1, target_bytes // chats // (len(filler) + 250))
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n "about": "export", "personal_information": {"first_name": "A"},\n')
        out.write(' "chats": {\n  "about": "chats",\n  "list": [\n')
        for chat in range(chats):
            head = {"name": f"Chat {chat}", "type": "public_channel", "id": 1000 + chat}
            out.write("   " + json.dumps(head, ensure_ascii=False)[:-1] + ', "messages": [\n')
            for n in range(per_chat):
                message = {
                    "id": n + 1,
                    "type": "message",
                    "date": "2024-05-01T10:00:00",
                    "date_unixtime": "1714557600",
                    "from": f"Chat {chat}",
                    "from_id": f"channel{1000 + chat}",
                    "text": [{"type": "bold", "text": f"{chat}/{n} "}, filler],
                }
                separator = ",\n" if n + 1 < per_chat else "\n"
                out.write("    " + json.dumps(message, ensure_ascii=False) + separator)
            out.write("   ]}" + (",\n" if chat + 1 < chats else "\n"))
        out.write("  ]\n }\n}\n")
    return per_chat * chats


def _ingest_peak_kb(export: Path, tmp_path: Path, name: str) -> tuple[int, int, str]:
    env = {
        **os.environ,
        "REDLINE_DATABASE_URL": f"sqlite:///{tmp_path / (name + '.db')}",
        "REDLINE_DATA_DIR": str(tmp_path / (name + "-data")),
    }
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, "ingest", str(export), "--source", "tg", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    _, peak, code = done.stderr.strip().splitlines()[-1].split()
    return int(peak), int(code), done.stdout


@pytest.mark.slow
def test_a_110_mb_whole_account_export_is_read_in_bounded_memory(tmp_path: Path) -> None:
    small = tmp_path / "small.json"
    _write_export(small, chats=2, target_bytes=50_000)
    big = tmp_path / "result.json"
    messages = _write_export(big, chats=3, target_bytes=EXPORT_BYTES)
    assert big.stat().st_size > 0.9 * EXPORT_BYTES

    baseline, code, _ = _ingest_peak_kb(small, tmp_path, "small")
    assert code == 0
    peak, code, out = _ingest_peak_kb(big, tmp_path, "big")
    summary = json.loads(out)
    assert (code, summary["stored"], summary["quarantined"]) == (0, messages, 0)
    assert peak - baseline < MAX_GROWTH_KB, f"peak {peak:,} KB, baseline {baseline:,} KB"
