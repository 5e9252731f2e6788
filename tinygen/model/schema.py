"""The TFLite flatbuffer schema, taken from the `tflite-micro` package (TFLM's own generated code).

Importing it costs ~0.2 s and no TensorFlow; every other module reaches the schema through here.
"""

from __future__ import annotations

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

__all__ = ["builtin_name", "fb", "type_name"]

_BUILTIN_NAMES = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
_TYPE_NAMES = {v: k.lower() for k, v in vars(fb.TensorType).items() if not k.startswith("_")}


def builtin_name(code: int) -> str:
    """BuiltinOperator code -> name such as "CONV_2D"."""
    return str(_BUILTIN_NAMES.get(code, f"BUILTIN_{code}"))


def type_name(code: int) -> str:
    """TensorType code -> numpy-style name such as "int8"."""
    return str(_TYPE_NAMES.get(code, f"type{code}"))
