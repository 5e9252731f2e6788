"""TFLite Micro backend: the model as an aligned C array, an exact op resolver, the arena size."""

from __future__ import annotations

from dataclasses import dataclass

from .. import __version__
from ..model import ModelInfo
from ..model.ops import resolver_method
from .carray import byte_rows
from .cheader import tensor_macros
from .cnames import c_comment, c_identifier, c_string
from .output import banner


@dataclass(frozen=True)
class ArenaSizes:
    """Arena bytes to reserve for each kernel flavour (from `tinygen.arena`)."""

    reference: int
    cmsis_nn: int
    note: str | None = None  # set when the sizes are not exact (a TFLM the arena model does not cover)


def _guard(name: str, what: str) -> str:
    return f"TINYGEN_{name.upper()}_{what}_H_"


def model_data_files(model: ModelInfo, name: str, labels: list[str] | None = None) -> dict[str, str]:
    """`NAME_model_data.h/.cc`: the flatbuffer as a 16-byte aligned const array plus I/O constants."""
    up = name.upper()
    head = banner(__version__, model.path.name, model.sha256)
    h = [
        head,
        f"#ifndef {_guard(name, 'MODEL_DATA')}",
        f"#define {_guard(name, 'MODEL_DATA')}",
        "",
        "#include <stdint.h>",
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        f"#define {up}_MODEL_DATA_LEN {len(model.data)}u",
        f'#define {up}_MODEL_SHA256 "{model.sha256}"',
        "/* 16-byte aligned, const: the linker keeps it in flash. */",
        f"extern const uint8_t {name}_model_data[{up}_MODEL_DATA_LEN];",
        "",
        *tensor_macros(f"{up}_INPUT", model.inputs),
        "",
        *tensor_macros(f"{up}_OUTPUT", model.outputs),
        "",
    ]
    if labels:
        h += [
            f"#define {up}_LABEL_COUNT {len(labels)}",
            f"extern const char *const {name}_labels[{up}_LABEL_COUNT];",
            "",
        ]
    h += ["#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {_guard(name, 'MODEL_DATA')} */", ""]
    cc = [
        head,
        f'#include "{name}_model_data.h"',
        "",
        f"alignas(16) const uint8_t {name}_model_data[{up}_MODEL_DATA_LEN] = {{",
        byte_rows(model.data),
        "};",
        "",
    ]
    if labels:
        cc += [
            f"const char *const {name}_labels[{up}_LABEL_COUNT] = {{",
            *[f"    {c_string(label)}," for label in labels],
            "};",
            "",
        ]
    return {f"{name}_model_data.h": "\n".join(h), f"{name}_model_data.cc": "\n".join(cc)}


def op_resolver_file(model: ModelInfo, name: str) -> str:
    """`NAME_op_resolver.h`: a MicroMutableOpResolver sized for exactly the ops the model uses."""
    ops = sorted(model.op_counts)
    methods = sorted({resolver_method(op) or "" for op in ops} - {""})
    guard = _guard(name, "OP_RESOLVER")
    lines = [
        banner(__version__, model.path.name, model.sha256),
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"',
        "",
        f"/* Ops used by the model: {c_comment(', '.join(ops))}. */",
        f"using {_camel(name)}OpResolver = tflite::MicroMutableOpResolver<{len(methods)}>;",
        "",
        f"inline TfLiteStatus {name}_register_ops({_camel(name)}OpResolver& resolver) {{",
    ]
    for m in methods:
        lines.append(f"  if (resolver.{m}() != kTfLiteOk) return kTfLiteError;")
    lines += ["  return kTfLiteOk;", "}", "", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def arena_file(model: ModelInfo, name: str, sizes: ArenaSizes) -> str:
    """`NAME_arena.h`: the exact 32-bit arena size, per kernel flavour."""
    up = name.upper()
    guard = _guard(name, "ARENA")
    return "\n".join(
        [
            banner(__version__, model.path.name, model.sha256),
            f"#ifndef {guard}",
            f"#define {guard}",
            "",
            *(["/* Smallest tensor arena with which AllocateTensors() and Invoke() succeed on a 32-bit",
               "   target (computed by `tinygen arena`), per kernel flavour. */"] if sizes.note is None else
              [f"/* Tensor arena per kernel flavour. NOT EXACT: {c_comment(sizes.note)}. */"]),
            f"#define {up}_ARENA_SIZE_REFERENCE {sizes.reference}",
            f"#define {up}_ARENA_SIZE_CMSIS_NN {sizes.cmsis_nn}",
            "",
            "#if defined(CMSIS_NN)",
            f"#define {up}_ARENA_SIZE {up}_ARENA_SIZE_CMSIS_NN",
            "#else",
            f"#define {up}_ARENA_SIZE {up}_ARENA_SIZE_REFERENCE",
            "#endif",
            "",
            f"#endif /* {guard} */",
            "",
        ]
    )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def default_name(model: ModelInfo) -> str:
    return c_identifier(model.path.stem)


def generate(model: ModelInfo, name: str, labels: list[str] | None, arena: ArenaSizes) -> dict[str, str]:
    """All TFLM-backend files for `model`, keyed by file name."""
    files = model_data_files(model, name, labels)
    files[f"{name}_op_resolver.h"] = op_resolver_file(model, name)
    files[f"{name}_arena.h"] = arena_file(model, name, arena)
    return files
