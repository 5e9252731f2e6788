"""A local TFLM tree compiled for the host: the reference `verify --runtime tflm` compares with.

    from tinygen.tflmhost import TreeReference
    ref = TreeReference.build(tree, model, reporter)   # compiles once per tree (cached), then starts
    outputs = ref.run(x)                               # same interface as tinygen.reference.Reference
    ref.close()

The device's TFLM and this one are the same sources, so a difference between them is a real
difference of the device, not of two TFLM versions (docs/verify.md).
"""

from .build import build_runner, cxx_compiler
from .runner import TreeReference

__all__ = ["TreeReference", "build_runner", "cxx_compiler"]
