"""The child process that hashes one video with vPDQ, inside CPU-time and memory limits.

FFmpeg decodes whatever a video file says: a header claiming 30000x30000 frames, or a stream
that never ends, would take a worker's memory or time without limit, and a decoder crash would
take the worker with it. So ``redline.signals.vpdq`` runs this module as a child process
(``python -m redline.signals.vpdq_worker CPU_SECONDS MEMORY_BYTES PATH SECONDS_PER_HASH``),
which sets its own limits before decoding anything and prints the frames as JSON lines.
Exit status 0: frames on stdout; EXIT_UNREADABLE: the reason on stderr (after FFmpeg's own
messages, which say when an allocation failed); EXIT_MEMORY: out of memory in Python. A kill by
SIGXCPU or SIGKILL means the CPU limit was reached.
"""

from __future__ import annotations

import json
import math
import resource
import sys

EXIT_UNREADABLE = 2
EXIT_MEMORY = 3


def limit(cpu_seconds: int, memory_bytes: int) -> None:
    """Limit this process: SIGXCPU after ``cpu_seconds`` more of CPU (SIGKILL a second later),
    and no allocation past ``memory_bytes`` of address space (the interpreter's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # RLIMIT_CPU counts from the process's start: the imports' time is not the video's.
    spent = math.ceil(usage.ru_utime + usage.ru_stime)
    resource.setrlimit(resource.RLIMIT_CPU, (spent + cpu_seconds, spent + cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a killed decoder leaves no core file


def main(argv: list[str]) -> int:
    """Hash the video named in ``argv`` within the limits given there."""
    cpu_seconds, memory_bytes, path, seconds_per_hash = argv
    import vpdq  # before the limits: its shared libraries are not what is being limited

    limit(int(cpu_seconds), int(memory_bytes))
    try:
        features = vpdq.computeHash(path, seconds_per_hash=float(seconds_per_hash))
    except MemoryError:
        return EXIT_MEMORY
    except Exception as error:  # vpdq raises bare Exception when FFmpeg cannot decode
        print(error, file=sys.stderr)
        return EXIT_UNREADABLE
    for feature in features:
        print(json.dumps([feature.hex, int(feature.quality), float(feature.timestamp)]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
