"""What the mlperf app adds to a project: src/model/mlperf_config.h, the benchmark's settings for
firmware/apps/mlperf/mlperf.c (`tinygen generate|build --app mlperf [--benchmark B]`)."""

from __future__ import annotations

from typing import Callable

from .. import __version__
from ..codegen.cnames import c_string
from ..codegen.output import banner
from ..boards import Board
from ..model import ModelInfo
from .benchmarks import Plan, plan_for

APP = "mlperf"
CONFIG_FILE = "src/model/mlperf_config.h"
_INPUT = {"int8": "MLPERF_INPUT_INT8", "uint8_shifted": "MLPERF_INPUT_UINT8_SHIFTED", "float32": "MLPERF_INPUT_FLOAT32"}
_RESULTS = {"scores_fixed3": "MLPERF_RESULTS_SCORES_FIXED3", "scores_truncated3": "MLPERF_RESULTS_SCORES_TRUNCATED3",
            "mse": "MLPERF_RESULTS_MSE"}


def config_header(model: ModelInfo, plan: Plan) -> str:
    """mlperf_config.h: the benchmark name, input conversion, buffer size and result format."""
    b = plan.benchmark
    return "\n".join([
        banner(__version__, model.path.name, model.sha256, "/*").rstrip(),
        f"/* MLPerf Tiny {b.title} ({b.name}) settings for firmware/apps/mlperf (docs/mlperf.md). */",
        "#ifndef TINYGEN_MLPERF_CONFIG_H_",
        "#define TINYGEN_MLPERF_CONFIG_H_",
        "",
        f"#define MLPERF_MODEL {c_string(b.name)}",
        f"#define MLPERF_INPUT {_INPUT[b.input_kind]}",
        f"#define MLPERF_DB_BYTES {plan.db_bytes}u   /* {plan.input_elements} elements of {b.input_kind} */",
        f"#define MLPERF_RESULTS {_RESULTS[b.results_kind]}",
        f"#define MLPERF_RESULT_COUNT {plan.result_count}u",
        "",
        "#endif /* TINYGEN_MLPERF_CONFIG_H_ */",
        "",
    ])


def mlperf_app_files(model: ModelInfo, benchmark: str | None) -> tuple[dict[str, str | bytes], Plan]:
    """The generated files the mlperf app adds, and the plan they encode."""
    plan = plan_for(model, benchmark)
    return {CONFIG_FILE: config_header(model, plan)}, plan


def mlperf_files_for(benchmark: str | None) -> Callable[[Board, ModelInfo, "list[str] | None"], dict[str, str | bytes]]:
    """The mlperf app's `app_files` for tinygen.project.render_project (benchmark None: from the input)."""
    def app_files(board: Board, model: ModelInfo, labels: list[str] | None) -> dict[str, str | bytes]:
        del board, labels  # the benchmark settings depend on the model only
        return mlperf_app_files(model, benchmark)[0]
    return app_files
