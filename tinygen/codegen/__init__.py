"""C/C++ code generation: one backend per runtime (tflm, aot) over shared C helpers."""
