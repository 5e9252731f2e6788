"""Hostile names, labels and board files: escaped or refused with one line and the README's exit code.

Labels round-trip byte for byte through the generated C (compiled with trigraphs on), a label file
splits on newlines only, non-UTF-8 label and board files are refused, C name prefixes that would
clash with tinygen's own symbols or overflow file names are refused (or, from a file stem, made
safe), and board files with wrongly typed or negative fields are refused with exit 4."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinygen.cli.main import _register, cli
from tinygen.codegen.cnames import MAX_PREFIX, c_string, model_prefix
from tinygen.resources import boards_dir

HELLO = "hello_world/hello_world_int8.tflite"
_register()
TRICKY = ["??=define", "a??/b", "quote\" back\\slash", "tab\there", "  spaces  ", "caf\u00e9 \u2603",
          "line\u2028sep", "vt\x0bff\x0c", "next\u0085line", "??(??)??<??>??!??'??-", "%d %s"]


def _invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.output


def test_labels_round_trip_byte_for_byte_through_compiled_c(models_dir: Path, tmp_path: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no host C compiler")
    labels = tmp_path / "labels.txt"
    labels.write_bytes(("\n".join(TRICKY) + "\n").encode())
    out = tmp_path / "out"
    code, text = _invoke("-q", "convert", str(models_dir / HELLO), "-o", str(out), "--runtime", "aot",
                         "--labels", str(labels), "--name", "m")
    assert code == 0, text
    (out / "main.c").write_text(
        '#include <stdio.h>\n#include "m_model.h"\n'
        "int main(void) { for (int i = 0; i < M_LABEL_COUNT; ++i) printf(\"%s\\n\", m_labels[i]); return 0; }\n")
    exe = tmp_path / "labels"
    sources = [str(p) for p in sorted(out.glob("*.c")) if "tg_runtime" not in p.name]
    subprocess.run([cc, "-std=c99", "-trigraphs", "-Wall", "-Wextra", "-Werror", "-I", str(out), *sources,
                    "-o", str(exe), "-lm"], check=True, capture_output=True)
    printed = subprocess.run([str(exe)], check=True, capture_output=True).stdout
    assert printed == labels.read_bytes()


def test_c_string_never_forms_a_trigraph() -> None:
    assert "??" not in c_string("??=??/??'")


@pytest.mark.parametrize("content, expect", [
    (b"yes\r\nno\r\n", ["yes", "no"]),
    (b"a\x0bb\nc\x0cd\ne\xe2\x80\xa8f\n\n\n", ["a\x0bb", "c\x0cd", "e\u2028f"]),
])
def test_labels_split_on_newlines_only(tmp_path: Path, content: bytes, expect: list[str]) -> None:
    from tinygen.convert import read_labels

    path = tmp_path / "l.txt"
    path.write_bytes(content)
    assert read_labels(path) == expect


@pytest.mark.parametrize("content, needle", [(b"yes\n\xff\xfeno\n", "not UTF-8"), (b"yes\n\nno\n", "line 2 is empty"),
                                             (b"\n\n", "is empty")])
def test_bad_labels_file_is_a_usage_error(models_dir: Path, tmp_path: Path, content: bytes, needle: str) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_bytes(content)
    code, out = _invoke("convert", str(models_dir / HELLO), "-o", str(tmp_path / "o"), "--labels", str(labels))
    assert code == 2 and needle in out and "Traceback" not in out
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name, needle", [("tg_runtime", "clash with tinygen's own C names"),
                                          ("x" * 300, "too long")])
def test_unusable_name_is_refused(models_dir: Path, tmp_path: Path, name: str, needle: str) -> None:
    code, out = _invoke("convert", str(models_dir / HELLO), "-o", str(tmp_path / "o"), "--runtime", "aot",
                        "--name", name)
    assert code == 2 and needle in out and not (tmp_path / "o").exists()


def test_a_file_stem_is_made_safe(models_dir: Path, tmp_path: Path) -> None:
    assert model_prefix(None, "tg_runtime") == "m_tg_runtime"
    long = model_prefix(None, "y" * 300)
    assert len(long) <= MAX_PREFIX and long != model_prefix(None, "y" * 299)
    model = tmp_path / ("tg_runtime" + "_v" * 110 + ".tflite")
    model.write_bytes((models_dir / HELLO).read_bytes())
    code, out = _invoke("-q", "convert", str(model), "-o", str(tmp_path / "o"), "--runtime", "aot")
    assert code == 0, out
    names = [p.name for p in (tmp_path / "o").iterdir()]
    assert all(len(n) < 100 for n in names) and not any(n.startswith("tg_runtime_v") for n in names)
    assert any(n.startswith("m_tg_runtime_v") and n.endswith("_model.c") for n in names)


def _board(tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    doc = json.loads((boards_dir() / "qemu-m4.json").read_text())
    doc["name"], doc["aliases"] = "hostile-board", []
    change(doc)
    d = tmp_path / "boards"
    d.mkdir(exist_ok=True)
    (d / "hostile.json").write_text(json.dumps(doc))
    return d


@pytest.mark.parametrize("change, needle", [
    (lambda d: d.update(aliases=[1, 2]), "every entry of 'aliases' must be str"),
    (lambda d: d["reserved"].update(stack_bytes=-5), "'reserved.stack_bytes' must not be negative"),
    (lambda d: d.update(name="bad]name\n"), "board name or alias"),
    (lambda d: d["reserved"].update(ram_bytes=d["ram_bytes"]), "leaves nothing"),
])
def test_bad_board_file_is_a_board_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change, needle: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(_board(tmp_path, change).parent)
    code, out = _invoke("boards")
    assert code == 4 and needle in out and "Traceback" not in out


def test_non_utf8_board_file_is_a_board_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "boards"
    d.mkdir()
    (d / "latin1.json").write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))
    monkeypatch.chdir(tmp_path)
    code, out = _invoke("boards")
    assert code == 4 and "not UTF-8" in out and len(out.strip().splitlines()) == 1


def test_readme_lists_every_exit_code() -> None:
    """The README's table covers every code a TinygenError, the signal handlers and bugs exit with."""
    import re

    import tinygen.errors as errors
    from tinygen.link.errors import DeviceReset, LinkClosed, LinkTimeout, ProtocolError

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| exit code | meaning |"):]
    listed = {int(c) for row in table.splitlines()[2:] if row.startswith("|")
              for c in re.findall(r"\d+", row.split("|")[1])}
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.TinygenError)]
    classes += [DeviceReset, LinkClosed, LinkTimeout, ProtocolError]
    used = {c.exit_code for c in classes} | {0, 70, 130, 143, 129}
    assert used <= listed, f"exit codes missing from the README: {sorted(used - listed)}"


def test_hints_name_only_options_that_exist() -> None:
    """Every `tinygen CMD ... --option` that tinygen's messages and hints print names an option CMD
    has (a hint once told users `tinygen run --runtime`, which does not exist)."""
    import re

    root = Path(__file__).resolve().parent.parent
    _register()
    checked = 0
    for path in sorted((root / "tinygen").rglob("*.py")):
        for m in re.finditer(r"tinygen ([a-z]+)((?: [^\"'\n`]*)?)", path.read_text()):
            command = cli.commands.get(m.group(1))  # type: ignore[attr-defined]
            if command is None:
                continue
            known = {o for p in command.params for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]}
            for option in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", m.group(2)):
                checked += 1
                assert option in known | {"--help"}, f"{path.relative_to(root)}: '{m.group(0)}': {m.group(1)} has no {option}"
    assert checked > 10
