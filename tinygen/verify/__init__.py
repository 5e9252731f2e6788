"""`tinygen verify`: stream inputs to a device running the HIL app, run the Python reference (PyPI
`tflite-micro`) on the same inputs in the same order, compare per output, report (JSON, JUnit)."""

from .compare import OutputStats, compare_outputs
from .inputs import InputCase, load_inputs, random_inputs
from .runner import VerifyResult, run_cases

__all__ = ["OutputStats", "compare_outputs", "InputCase", "load_inputs", "random_inputs", "VerifyResult",
           "run_cases"]
