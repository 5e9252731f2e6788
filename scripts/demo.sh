#!/usr/bin/env bash
# The main job, end to end on a bundled model. Grows as the pipeline lands.
set -euo pipefail
cd "$(dirname "$0")/.."
model=../shared/models/micro_speech/micro_speech_quantized.tflite
out=out/demo
tinygen inspect "$model"
tinygen convert "$model" -o "$out/tflm" --name micro_speech
echo "demo: sources in $out" >&2
