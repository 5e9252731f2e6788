#!/usr/bin/env bash
# Install everything tinygen and its tests need on a fresh Debian machine: the Arm toolchain and QEMU
# from apt, tinygen itself (editable) with TensorFlow and pytest from PyPI. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v arm-none-eabi-gcc >/dev/null || need_apt+=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib)
command -v qemu-system-arm >/dev/null || need_apt+=(qemu-system-arm)
command -v c++ >/dev/null || need_apt+=(g++)  # the host build of a local TFLM tree (verify --runtime tflm reference)
[ -e /usr/lib/arm-none-eabi/include/c++ ] || [ -e /usr/include/newlib/c++ ] || need_apt+=(libstdc++-arm-none-eabi-newlib)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} with apt" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e '.[quantize,dev,profile]' 2>&1 | grep -v "Running pip as the 'root' user" || true
python3 -c "import tinygen, tflite_micro" || { echo "setup: tinygen did not install" >&2; exit 1; }
