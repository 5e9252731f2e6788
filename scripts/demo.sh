#!/usr/bin/env bash
# The main job, end to end and offline (`make demo` runs this after `make setup`): build the bundled
# micro_speech keyword model into firmware for the emulated Cortex-M4 (qemu-m4), stream the
# yes/no/silence/noise clips to it, compare features, scores and detections with the host reference.
# Exits non-zero on any mismatch or wrong detection.
set -euo pipefail
cd "$(dirname "$0")/.."
exec tinygen demo "$@"
