"""An `AotModel` as C files: NAME_model.h/.c, NAME_tg_runtime.c and the kernel library copies."""

from __future__ import annotations

from pathlib import Path

from ... import __version__
from ...resources import firmware_dir
from ..carray import float_literal, int_list
from ..cheader import tensor_macros
from ..cnames import c_comment, c_string
from ..output import banner
from .context import TG_DTYPES
from .generator import AotModel


def _model_includes(m: AotModel) -> list[str]:
    """Headers the model source includes: the lowerings' explicit ones, plus every header in the
    firmware/aot/ subdirectory of each kernel source used (signal/*.c -> signal/*.h)."""
    root = firmware_dir() / "aot"
    names = {Path(h).name for h in m.state.headers}
    for rel in m.sources:
        sub = Path(rel).parent
        if str(sub) != ".":
            names.update(p.name for p in (root / sub).glob("*.h"))
    return sorted(names)


def model_header(m: AotModel, labels: list[str] | None) -> str:
    name, up = m.name, m.name.upper()
    guard = f"TINYGEN_{up}_MODEL_H_"
    lines = [
        banner(__version__, m.model.path.name, m.model.sha256).rstrip(),
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdint.h>",
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        f'#define {up}_MODEL_SHA256 "{m.model.sha256}"',
        "/* Activation arena (one static buffer, offsets fixed at generation time) and persistent",
        "   state (resource variables, kernel state) in bytes. */",
        f"#define {up}_ARENA_SIZE {m.arena_bytes}u",
        f"#define {up}_PERSISTENT_SIZE {m.persistent_bytes}u",
        "",
        *tensor_macros(f"{name.upper()}_INPUT", m.model.inputs),
        "",
        *tensor_macros(f"{name.upper()}_OUTPUT", m.model.outputs),
        "",
        "/* Set up the model: clears streaming state. Returns 0. */",
        f"int {name}_init(void);",
        "/* Reset streaming state (resource variables) the way TFLM's interpreter reset() does. */",
        f"void {name}_reset(void);",
        "/* Run the model on the buffers {name}_input()/{name}_output() point at. */",
        f"void {name}_run(void);",
        "/* Copy `in` to input 0, run, copy output 0 to `out` (either may be NULL). Returns 0. */",
        f"int {name}_invoke(const void *in, void *out);",
        *([f"/* {name}_run() reuses rows earlier windows computed (incremental inference); this runs the",
           "   whole model on the window as if it had never seen another one. */",
           f"void {name}_run_full(void);",
           "/* Invokes since reset that reused earlier windows' rows. */",
           f"uint32_t {name}_incremental_hits(void);"] if m.run_body else []),
        f"void *{name}_input(uint32_t index);",
        f"void *{name}_output(uint32_t index);",
    ]
    if labels:
        lines += ["", f"#define {up}_LABEL_COUNT {len(labels)}",
                  f"extern const char *const {name}_labels[{up}_LABEL_COUNT];"]
    lines += ["", "#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def model_source(m: AotModel, labels: list[str] | None) -> str:
    name, up = m.name, m.name.upper()
    st = m.state
    out = [
        banner(__version__, m.model.path.name, m.model.sha256).rstrip(),
        '#include "tg_aot_opt.h" /* first: the optimisation level of the code below */',
        f'#include "{name}_model.h"',
        "",
        "#include <string.h>",
        "",
        '#include "tg_aot.h"',
        *[f'#include "{h}"' for h in _model_includes(m)],
        "",
        "#if TG_AOT_VERSION != 1",
        "#error \"kernel library version does not match the generated model (re-run tinygen convert)\"",
        "#endif",
        "",
        "/* ---- constants: weights, biases, requantization, parameter blocks (flash) ---- */",
    ]
    out += [st.consts[k] for k in st.consts]
    out += ["", "/* ---- memory ---- */"]
    words = max(1, (m.arena_bytes + 7) // 8)
    out.append(f"static uint64_t {name}_arena[{words}];")
    for v in st.variables.values():
        out.append(f"static uint64_t {v.cname}_storage[{max(1, (v.nbytes + 7) // 8)}]; /* {c_comment(v.key)} */")
        out.append(f"#define {v.cname} ((uint8_t *){v.cname}_storage)")
    for s in st.states:
        out.append(f"static uint64_t {s.cname}_storage[{max(1, (s.nbytes + 7) // 8)}];")
        out.append(f"#define {s.cname} ((uint8_t *){s.cname}_storage)")
        if s.init is not None:
            from ..carray import byte_rows

            out.append(f"static const uint8_t {s.cname}_init[{max(1, s.nbytes)}] = {{\n{byte_rows(s.init)}\n}};")
    out.append("")
    for sg in reversed(m.subgraphs):
        out.append(f"static void {name}_subgraph{sg.index}(uint8_t *A);")
    for sg in m.subgraphs:
        out += ["", f"/* Subgraph {sg.index}: A is the arena base. */",
                f"static void {name}_subgraph{sg.index}(uint8_t *A) {{", "  (void)A;"]
        out += ["  " + block for block in sg.body]
        out += [f"  TG_AOT_PROFILE_OP({sg.index}, -1);", "}"]
    reset_body = [f"  memset({v.cname}, {v.fill}, {v.nbytes});" for v in st.variables.values() if v.nbytes]
    state_init: list[str] = []
    for s in st.states:
        stmt = (f"  memcpy({s.cname}, {s.cname}_init, {s.nbytes});" if s.init is not None
                else f"  memset({s.cname}_storage, {s.fill}, sizeof {s.cname}_storage);")
        (reset_body if s.on_reset else state_init).append(stmt)
    reset_body += list(m.extra_reset)
    out += list(m.extra_source)
    in_offs, out_offs = m.io_offsets
    run = (["", f"void {name}_run(void) {{", *m.run_body, "}", "",
            f"void {name}_run_full(void) {{ {name}_subgraph0((uint8_t *){name}_arena); }}"] if m.run_body
           else ["", f"void {name}_run(void) {{ {name}_subgraph0((uint8_t *){name}_arena); }}"])
    out += [
        "",
        f"static uint8_t *const {name}_inputs[{max(1, len(in_offs))}] = {{"
        + (", ".join(f"(uint8_t *){name}_arena + {o}" for o in in_offs) or "0") + "};",
        f"static uint8_t *const {name}_outputs[{max(1, len(out_offs))}] = {{"
        + (", ".join(f"(uint8_t *){name}_arena + {o}" for o in out_offs) or "0") + "};",
        "",
        f"void {name}_reset(void) {{",
        *reset_body,
        "}",
        "",
        f"int {name}_init(void) {{",
        *state_init,
        f"  {name}_reset();",
        "  return 0;",
        "}",
        *run,
        "",
        f"void *{name}_input(uint32_t index) {{",
        f"  return index < {up}_INPUT_COUNT ? (void *){name}_inputs[index] : (void *)0;",
        "}",
        "",
        f"void *{name}_output(uint32_t index) {{",
        f"  return index < {up}_OUTPUT_COUNT ? (void *){name}_outputs[index] : (void *)0;",
        "}",
        "",
        f"int {name}_invoke(const void *in, void *out) {{",
        f"  if (in) memcpy({name}_input(0), in, {up}_INPUT0_BYTES);",
        f"  {name}_run();",
        f"  if (out) memcpy(out, {name}_output(0), {up}_OUTPUT0_BYTES);",
        "  return 0;",
        "}",
    ]
    if labels:
        out += ["", f"const char *const {name}_labels[{up}_LABEL_COUNT] = {{",
                *[f"    {c_string(x)}," for x in labels], "};"]
    out.append("")
    return "\n".join(out)


def runtime_glue(m: AotModel) -> str:
    """NAME_tg_runtime.c: tg_runtime.h implemented over the generated model."""
    name, up = m.name, m.name.upper()

    def infos(kind: str, tensors: tuple) -> list[str]:
        rows = []
        for i, t in enumerate(tensors):
            q = t.quantization
            dims = list(t.shape)[:6] or [1]
            rows.append(
                f"    {{{c_string(t.name)}, {TG_DTYPES.get(t.dtype, 9)}, {len(dims)}, "
                f"{{{int_list(dims)}}}, {t.nbytes}u, {float_literal(q.scale[0]) if q else '0.0f'}, "
                f"{q.zero_point[0] if q else 0}}},"
            )
        return [f"static const tg_tensor_info {name}_{kind}_info[{max(1, len(tensors))}] = {{", *rows, "};"]

    return "\n".join([
        banner(__version__, m.model.path.name, m.model.sha256).rstrip(),
        "/* tg_runtime.h implemented by the AOT model: one application source serves both runtimes. */",
        '#include "tg_runtime.h"',
        f'#include "{name}_model.h"',
        "",
        "static int tg_aot_ready;",
        "",
        *infos("input", m.model.inputs),
        *infos("output", m.model.outputs),
        "",
        "tg_status tg_runtime_init(void) {",
        f"  if ({name}_init() != 0) return TG_ERROR;",
        "  tg_aot_ready = 1;",
        "  return TG_OK;",
        "}",
        "",
        "tg_status tg_runtime_reset(void) {",
        "  if (!tg_aot_ready) return TG_NOT_INITIALISED;",
        f"  {name}_reset();",
        "  return TG_OK;",
        "}",
        "",
        "tg_status tg_runtime_invoke(void) {",
        "  if (!tg_aot_ready) return TG_NOT_INITIALISED;",
        f"  {name}_run();",
        "  return TG_OK;",
        "}",
        "",
        f"uint32_t tg_runtime_input_count(void) {{ return {up}_INPUT_COUNT; }}",
        f"uint32_t tg_runtime_output_count(void) {{ return {up}_OUTPUT_COUNT; }}",
        "const tg_tensor_info *tg_runtime_input_info(uint32_t index) {",
        f"  return index < {up}_INPUT_COUNT ? &{name}_input_info[index] : (const tg_tensor_info *)0;",
        "}",
        "const tg_tensor_info *tg_runtime_output_info(uint32_t index) {",
        f"  return index < {up}_OUTPUT_COUNT ? &{name}_output_info[index] : (const tg_tensor_info *)0;",
        "}",
        f"void *tg_runtime_input(uint32_t index) {{ return {name}_input(index); }}",
        f"void *tg_runtime_output(uint32_t index) {{ return {name}_output(index); }}",
        'const char *tg_runtime_name(void) { return "aot"; }',
        f"const char *tg_runtime_model_sha256(void) {{ return {up}_MODEL_SHA256; }}",
        f"uint32_t tg_runtime_arena_size(void) {{ return {up}_ARENA_SIZE + {up}_PERSISTENT_SIZE; }}",
        f"uint32_t tg_runtime_arena_used(void) {{ return {up}_ARENA_SIZE + {up}_PERSISTENT_SIZE; }}",
        "",
    ])


def kernel_files(sources: tuple[str, ...]) -> dict[str, str]:
    """The kernel library files a model needs, flattened by base name: every header plus `sources`."""
    root = firmware_dir() / "aot"
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*.h")):
        files[path.name] = path.read_text()
    for rel in sources:
        path = root / rel
        if not path.is_file():
            raise FileNotFoundError(f"kernel source {rel} missing from {root}")
        files[Path(rel).name] = path.read_text()
    files["tg_runtime.h"] = (firmware_dir() / "include" / "tg_runtime.h").read_text()
    return files


def all_files(m: AotModel, labels: list[str] | None) -> dict[str, str]:
    files = kernel_files(m.sources)
    files[f"{m.name}_model.h"] = model_header(m, labels)
    files[f"{m.name}_model.c"] = model_source(m, labels)
    files[f"{m.name}_tg_runtime.c"] = runtime_glue(m)
    return files
