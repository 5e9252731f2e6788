"""tinygen: full-int8 TensorFlow Lite models to verified microcontroller firmware.

The pipeline's stages and their order are the table of docs/architecture.md; imports only point down
it (tests/test_architecture.py enforces that).
"""

__version__ = "0.1.0"
