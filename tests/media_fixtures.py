"""Realistic media for tests: scikit-image's bundled photographs, generated images, test videos."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from redline.demo.build import base_image


def photo(name: str = "astronaut") -> Image.Image:
    """A real photograph shipped inside scikit-image (no download)."""
    import skimage.data

    array = getattr(skimage.data, name)()
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    return Image.fromarray(np.ascontiguousarray(array[..., :3]))


def generated(index: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A distinct synthetic image (gradient, shapes, the word DEMO)."""
    return base_image(index, random.Random(index), size)


def make_video(
    path: Path, frames: list[Image.Image], fps: int = 1, scale: str | None = None
) -> Path:
    """An H.264 video showing each frame for 1/fps seconds (ffmpeg, installed by make test)."""
    if shutil.which("ffmpeg") is None:
        pytest.fail(
            "ffmpeg is needed to make test videos (scripts/system-deps.sh test installs it)"
        )
    folder = path.parent / f".{path.stem}-frames"
    folder.mkdir(parents=True, exist_ok=True)
    for number, frame in enumerate(frames):
        frame.convert("RGB").save(folder / f"{number:03d}.png")
    command = [
        "ffmpeg",
        "-loglevel",
        "error",
        "-y",
        "-framerate",
        str(fps),
        "-i",
        str(folder / "%03d.png"),
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-r",
        "10",
        "-threads",
        "1",
    ]
    if scale:
        command += ["-vf", f"scale={scale}"]
    subprocess.run([*command, str(path)], check=True)
    shutil.rmtree(folder)
    return path


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb's calling card."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
