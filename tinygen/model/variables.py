"""Resource variables: how many distinct ones a model's VAR_HANDLE operators name.

TFLM's MicroResourceVariables::CreateIdIfNoneFound gives one slot per distinct (container,
shared_name) pair, so a model that reads and assigns a variable from several operators (the
microWakeWord streaming models have two VAR_HANDLE ops per variable, one in the init subgraph and
one in the main graph) needs one slot per variable, not one per operator.
"""

from __future__ import annotations

from .info import ModelInfo


def _text(v: object) -> str | None:
    if v is None:
        return None
    return v.decode() if isinstance(v, bytes) else str(v)


def resource_variable_count(model: ModelInfo) -> int:
    """The slots MicroResourceVariables needs: distinct resources, matched the way TFLM's FindId
    matches them (a null container matches any container with the same shared name)."""
    seen: list[tuple[str | None, str]] = []
    for sg in model.subgraphs:
        for op in sg.operators:
            if op.op != "VAR_HANDLE":
                continue
            container = _text(getattr(op.options, "container", None))
            shared = _text(getattr(op.options, "sharedName", None)) or ""
            if not any((container is None or container == c) and shared == s for c, s in seen):
                seen.append((container, shared))
    return len(seen)
