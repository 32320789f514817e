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


def panned_video(
    path: Path,
    photos: list[str],
    seconds: float,
    size: tuple[int, int] = (320, 180),
    fps: int = 10,
    filters: str | None = None,
) -> Path:
    """A natural-looking H.264 video: a slow pan and zoom across each of scikit-image's
    ``photos`` in turn (``seconds`` in all), as a camera moving over stills; ``filters`` are
    ffmpeg video filters applied on the way (a letterbox, a crop, a mirror)."""
    if shutil.which("ffmpeg") is None:
        pytest.fail(
            "ffmpeg is needed to make test videos (scripts/system-deps.sh test installs it)"
        )
    width, height = size
    command = [
        "ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:0",
        *(["-vf", filters] if filters else []),
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-threads", "1", str(path),
    ]  # fmt: skip
    per_photo = max(1, round(seconds * fps / len(photos)))
    with subprocess.Popen(command, stdin=subprocess.PIPE) as ffmpeg:
        assert ffmpeg.stdin is not None
        for name in photos:
            image = photo(name)
            w, h = image.size
            for n in range(per_photo):
                t = n / max(1, per_photo - 1)
                box_w = w * (0.8 - 0.15 * t)  # zooming in
                box_h = min(h, box_w * height / width)
                left, top = (w - box_w) * (0.2 + 0.6 * t), (h - box_h) * 0.5
                box = (left, top, left + box_w, top + box_h)
                frame = image.resize(size, Image.Resampling.BILINEAR, box)
                ffmpeg.stdin.write(frame.tobytes())
        ffmpeg.stdin.close()
    assert ffmpeg.returncode == 0, f"ffmpeg failed writing {path}"
    return path


def refilmed(original: Path, path: Path, filters: str) -> Path:
    """``original`` re-encoded through ffmpeg video ``filters``, as a re-uploader would."""
    command = ["ffmpeg", "-loglevel", "error", "-y", "-i", str(original), "-vf", filters]
    command += ["-c:v", "libx264", "-preset", "veryfast", "-threads", "1", str(path)]
    subprocess.run(command, check=True)
    return path


def joined(first: Path, second: Path, path: Path) -> Path:
    """``first`` then ``second`` in one video (the same frame size): a longer upload."""
    command = ["ffmpeg", "-loglevel", "error", "-y", "-i", str(first), "-i", str(second)]
    command += ["-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]"]
    command += ["-c:v", "libx264", "-preset", "veryfast", "-threads", "1", str(path)]
    subprocess.run(command, check=True)
    return path
