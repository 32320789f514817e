"""The child process that hashes one video with vPDQ, inside CPU-time and memory limits.

FFmpeg decodes whatever a video file says: a header claiming 30000x30000 frames, or a stream
that never ends, would take a worker's memory or time without limit, and a decoder crash would
take the worker with it. So ``redline.signals.vpdq`` runs this module as a child process
(``python -m redline.signals.vpdq_worker CPU_SECONDS MEMORY_BYTES PATH SECONDS_PER_HASH [MODE]``),
which sets its own limits before decoding anything and prints the frames as JSON lines.

``MODE`` says what is hashed (``MODES``): ``plain``, vPDQ's own frames only (what every other
vPDQ user computes); ``query``, those and the variants a scan looks up (each frame without its
uniform borders, and mirrored); ``bank``, only the variants a bank keeps of a banked video (the
frames without borders and the crop grid, ``redline.signals.vpdq_crop``). vPDQ's frames are
printed as ``[hex, quality, seconds]`` lines, each variant as one ``{"variant": name, "frames":
[...]}`` line. The variants come from a second decode by the ``ffmpeg`` program at one frame per
``SECONDS_PER_HASH``, scaled down to ``VARIANT_WIDTH`` (PDQ sees 64x64 of it anyway), since vpdq
hashes frames without handing them out.

Exit status 0: frames on stdout; EXIT_UNREADABLE: the reason on stderr (after FFmpeg's own
messages, which say when an allocation failed); EXIT_MEMORY: out of memory in Python. A kill by
SIGXCPU or SIGKILL means the CPU limit was reached.
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
from collections.abc import Iterator
from typing import IO, Any

PLAIN, QUERY, BANK = "plain", "query", "bank"
MODES = (PLAIN, QUERY, BANK)
EXIT_UNREADABLE = 2
EXIT_MEMORY = 3
VARIANT_WIDTH = 512


def limit(cpu_seconds: int, memory_bytes: int) -> None:
    """Limit this process: SIGXCPU after ``cpu_seconds`` more of CPU (SIGKILL a second later),
    and no allocation past ``memory_bytes`` of address space (the interpreter's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # RLIMIT_CPU counts from the process's start: the imports' time is not the video's.
    spent = math.ceil(usage.ru_utime + usage.ru_stime)
    resource.setrlimit(resource.RLIMIT_CPU, (spent + cpu_seconds, spent + cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a killed decoder leaves no core file


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise ValueError("truncated frame from ffmpeg")
    return data


def decoded_frames(path: str, seconds_per_hash: float) -> Iterator[tuple[float, Any]]:
    """(seconds, RGB array) of one frame every ``seconds_per_hash``, decoded by ffmpeg (which
    inherits this process's limits) as a stream of PPM images; the frames vpdq hashes, so a
    variant's frame and vPDQ's own frame of the same second show the same picture."""
    import numpy as np

    command = [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-threads",
        "1",
        "-i",
        path,
        "-an",
        "-sn",
        "-vf",
        # The first frame, then the first at least SECONDS_PER_HASH after the last one taken:
        # the frames vpdq hashes (the fps filter would take the last frame of each second).
        f"select='isnan(prev_selected_t)+gte(t-prev_selected_t,{seconds_per_hash - 0.001})',"
        f"scale='min({VARIANT_WIDTH},iw)':-2",
        "-fps_mode",
        "passthrough",
        "-f",
        "image2pipe",
        "-vcodec",
        "ppm",
        "pipe:1",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as ffmpeg:
        assert ffmpeg.stdout is not None
        number = 0
        while True:
            magic = ffmpeg.stdout.readline()
            if not magic:
                break
            if magic.strip() != b"P6":
                raise ValueError("ffmpeg gave a frame that is not a PPM image")
            width, height = (int(v) for v in ffmpeg.stdout.readline().split())
            ffmpeg.stdout.readline()  # maxval, 255
            pixels = _read_exact(ffmpeg.stdout, width * height * 3)
            yield (
                number * seconds_per_hash,
                np.frombuffer(pixels, np.uint8).reshape(height, width, 3),
            )
            number += 1
        said = ffmpeg.stderr.read().decode(errors="replace") if ffmpeg.stderr else ""
        if ffmpeg.wait() != 0 and number == 0:
            raise ValueError(said.strip().splitlines()[-1] if said.strip() else "ffmpeg failed")


def variants(path: str, seconds_per_hash: float, mode: str) -> dict[str, list[list[Any]]]:
    """The variant frames of ``mode`` (``query`` or ``bank``), by variant name, each frame as
    [hex, quality, seconds]."""
    import pdqhash

    from redline.signals import pdq, pdq_crop, vpdq_crop

    out: dict[str, list[list[Any]]] = {}
    trimmed_any = False
    for seconds, rgb in decoded_frames(path, seconds_per_hash):
        trimmed = pdq_crop.trim_borders(rgb)
        if trimmed is not None and min(trimmed.shape[:2]) >= pdq.MIN_TRIMMED_SIDE:
            trimmed_any, base = True, trimmed
        else:
            base = rgb
        if mode == QUERY:
            # One pass gives the upright and mirrored hashes (pdqhash shares the DCT).
            vectors, quality = pdqhash.compute_dihedral(base)
            upright = pdq.to_hex(vectors[0])
            mirrored = pdq.to_hex(vectors[pdq.DIHEDRAL.index("mirror")])
            out.setdefault("trimmed", []).append([upright, int(quality), seconds])
            out.setdefault("mirror", []).append([mirrored, int(quality), seconds])
        else:
            computed = pdq.hash_array(base)
            out.setdefault("trimmed", []).append([computed.value, computed.quality, seconds])
            for name, *sides in vpdq_crop.CROPS:
                computed = pdq.hash_array(pdq_crop.crop(base, *sides))
                out.setdefault(name, []).append([computed.value, computed.quality, seconds])
    if not trimmed_any:
        # Without borders the "trimmed" frames are the plain frames again: nothing to add.
        out.pop("trimmed", None)
    return out


def main(argv: list[str]) -> int:
    """Hash the video named in ``argv`` within the limits given there."""
    cpu_seconds, memory_bytes, path, seconds_per_hash, *rest = argv
    mode = rest[0] if rest else PLAIN
    if mode not in MODES:
        print(f"unknown mode {mode!r} (known: {', '.join(MODES)})", file=sys.stderr)
        return EXIT_UNREADABLE
    import vpdq  # before the limits: its shared libraries are not what is being limited

    if mode != PLAIN:
        import numpy  # noqa: F401  (likewise)

        from redline.signals import pdq_crop, vpdq_crop  # noqa: F401

    limit(int(cpu_seconds), int(memory_bytes))
    try:
        if mode != BANK:
            features = vpdq.computeHash(path, seconds_per_hash=float(seconds_per_hash))
            for feature in features:
                print(json.dumps([feature.hex, int(feature.quality), float(feature.timestamp)]))
        if mode != PLAIN:
            for name, frames in variants(path, float(seconds_per_hash), mode).items():
                print(json.dumps({"variant": name, "frames": frames}))
    except MemoryError:
        return EXIT_MEMORY
    except Exception as error:  # vpdq raises bare Exception when FFmpeg cannot decode
        print(error, file=sys.stderr)
        return EXIT_UNREADABLE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
