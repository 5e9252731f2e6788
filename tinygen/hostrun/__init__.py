"""Run AOT-generated C on the host: compile it with the system C compiler, call it with ctypes.

    from tinygen.hostrun import HostModel
    with HostModel.build("model.tflite") as m:
        out = m.invoke(x)          # numpy in, list of numpy out

Users check a model on their PC before any board exists; tests use it to compare with TFLM.
"""

from .compile import CompileResult, compile_sources, compiler
from .runner import HostModel

__all__ = ["CompileResult", "HostModel", "compile_sources", "compiler"]
