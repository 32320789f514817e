#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages a make target needs, when they are missing.
#
#   scripts/system-deps.sh GROUP...     GROUP: python, test, bench
#
# As root, missing packages are installed with apt-get. Otherwise the script says what to install
# and fails, so that `make` stops with a clear message instead of a confusing error later.
set -euo pipefail

packages_for() {
    case "$1" in
        # venv and ensurepip are split out of Debian's python3 package.
        python) echo ffmpeg  # the demo makes its sample video with it
                echo libpango-1.0-0 libpangoft2-1.0-0  # WeasyPrint renders the PDF report
                command -v python3.11 >/dev/null 2>&1 || echo python3.11
                python3 -c 'import ensurepip, venv' 2>/dev/null || echo python3-venv
                # vpdq compiles against FFmpeg's libraries when pip installs it.
                python3 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))' 2>/dev/null || echo python3-dev
                command -v g++ >/dev/null 2>&1 || echo g++
                echo pkg-config libavdevice-dev libavfilter-dev libavformat-dev libavcodec-dev \
                     libswresample-dev libswscale-dev libavutil-dev ;;
        # Everything the test suite needs from the system: ffmpeg makes the test videos,
        # chromium is the headless browser the e2e tests drive (never Playwright's download),
        # iproute2's `ip` makes the network namespaces of the multi-host test.
        test)   echo ffmpeg chromium poppler-utils iproute2 ;;  # pdftoppm: the report's PDF as PNG
        # The benchmarks compare against sqlite3's .import (PostgreSQL COPY goes through psycopg).
        bench)  echo sqlite3 ;;
        *) echo "system-deps.sh: unknown group '$1' (python, test, bench)" >&2; exit 2 ;;
    esac
}

missing=()
for group in "$@"; do
    for package in $(packages_for "$group"); do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            # A package named for a command may be satisfied by the command alone (pyenv Pythons).
            if [ "$package" = python3.11 ] || [ "$package" = sqlite3 ] || [ "$package" = g++ ] || [ "$package" = ffmpeg ]; then
                command -v "$package" >/dev/null 2>&1 && continue
            fi
            missing+=("$package")
        fi
    done
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "Missing system packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
