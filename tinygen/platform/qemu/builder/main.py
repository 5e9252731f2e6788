"""SCons builder for the tinygen QEMU platform: Cortex-M4F, hard float, system arm-none-eabi-gcc.

Flags that belong to the project (warnings, defines) come from platformio.ini `build_flags`; the
linker script comes from `board_build.ldscript`. Size limits are enforced by the linker script's
MEMORY regions, so an image that does not fit fails at link time, as on hardware.
"""

import os
import sys

from SCons.Script import AlwaysBuild, Builder, Default, DefaultEnvironment  # type: ignore

env = DefaultEnvironment()
# PlatformIO keeps SCons' signature database in build_cache_dir when one is set, one file for every
# project; its paths are relative (.pio/build/qemu-m4/src/model/...), so another project's record of
# the same path made a stale object look up to date (a changed kernel was not recompiled). One
# database per project; the object cache itself stays shared (it is keyed by content).
env.SConsignFile(os.path.join("$BUILD_DIR", ".sconsign%d%d" % (sys.version_info[0], sys.version_info[1])))
board = env.BoardConfig()
prefix = os.environ.get("TINYGEN_ARM_PREFIX", "arm-none-eabi-")
cpu = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]

env.Replace(
    AR=prefix + "ar", AS=prefix + "gcc", CC=prefix + "gcc", CXX=prefix + "g++", GDB=prefix + "gdb",
    OBJCOPY=prefix + "objcopy", RANLIB=prefix + "ranlib", SIZETOOL=prefix + "size",
    ARFLAGS=["rc"], PROGNAME="firmware", PROGSUFFIX=".elf",
    SIZEPROGREGEXP=r"^(?:\.isr_vector|\.text|\.rodata|\.ARM\.exidx|\.ARM\.extab|\.preinit_array|\.init_array|\.fini_array|\.data)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.stack)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
)
env.Append(
    ASFLAGS=cpu + ["-x", "assembler-with-cpp"],
    CCFLAGS=cpu + ["-Os", "-g", "-ffunction-sections", "-fdata-sections", "-fno-common"],
    CFLAGS=["-std=c11"],
    CXXFLAGS=["-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics",
              "-fno-use-cxa-atexit"],
    CPPDEFINES=["TG_BOARD_QEMU", ("F_CPU", "$BOARD_F_CPU")],
    LINKFLAGS=cpu + ["-Os", "-nostartfiles", "-Wl,--gc-sections", "--specs=nano.specs",
                     "--specs=nosys.specs", "-Wl,-Map,${BUILD_DIR}/firmware.map",
                     "-Wl,--print-memory-usage"],
    LIBS=["c", "m", "nosys", "gcc"],
    BUILDERS=dict(ElfToBin=Builder(action=env.VerboseAction(
        "$OBJCOPY -O binary $SOURCES $TARGET", "Building $TARGET"), suffix=".bin")),
)
ldscript = board.get("build.ldscript", "")
if ldscript:
    env.Replace(LDSCRIPT_PATH=ldscript)

target_elf = env.BuildProgram()
target_bin = env.ElfToBin(os.path.join("$BUILD_DIR", "${PROGNAME}"), target_elf)
env.Depends(target_bin, "checkprogsize")

# `pio run -t upload` runs the firmware in QEMU with the UART on stdio (tinygen flash does better).
upload = env.Alias("upload", target_elf, env.VerboseAction(
    "qemu-system-arm -M mps2-an386 -nographic -icount shift=0 -kernel $SOURCE", "Running in QEMU"))
AlwaysBuild(upload)
Default([target_bin])
