"""tinygen: full-int8 TensorFlow Lite models to verified microcontroller firmware.

Pipeline (imports only point down this list):
errors/config/report -> model -> arena -> codegen -> boards -> project -> build
-> emulator -> link -> verify -> api -> cli, pytest_plugin
"""

__version__ = "0.1.0"
