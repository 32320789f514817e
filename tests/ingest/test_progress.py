"""Progress reporting: every byte of the input is counted once, and records as batches land."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image
from sqlalchemy import Engine

from redline.config import Settings
from redline.ingest.run import ingest, input_size


def counted(path: Path, engine: Engine, settings: Settings) -> tuple[int, int]:
    seen = {"bytes": 0, "records": 0}

    def on_bytes(n: int) -> None:
        seen["bytes"] += n

    def on_records(n: int) -> None:
        seen["records"] += n

    ingest(
        path,
        "p",
        engine=engine,
        settings=settings,
        actor="t",
        on_bytes=on_bytes,
        on_records=on_records,
    )
    return seen["bytes"], seen["records"]


def test_a_csv_is_counted_to_its_last_byte(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    settings.ingest_batch_size = 7
    path = tmp_path / "t.csv"
    path.write_text(
        "id,text\n" + "".join(f"{n},post {n}\n" for n in range(100)) + "cut", encoding="utf-8"
    )
    assert counted(path, engine, settings) == (input_size(path), 101)


def test_a_media_folder_is_counted_file_by_file(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    for n in range(3):
        Image.new("RGB", (20 + n, 20), (n, n, n)).save(folder / f"{n}.png")
    (folder / "0.png.json").write_text(json.dumps({"text": "a caption"}))
    (folder / "notes.txt").write_text("not media")
    assert counted(folder, engine, settings) == (input_size(folder), 4)
