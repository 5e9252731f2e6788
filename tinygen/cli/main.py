"""`tinygen` entry point: the command group. Each command lives in its own module."""

from __future__ import annotations

import click

from .. import __version__
from . import arena, boards, build, convert, demo, features, flash, generate, inspect, profile, quantize, run, verify

COMMANDS: list[click.Command] = [
    inspect.command,
    arena.command,
    convert.command,
    quantize.command,
    boards.command,
    generate.command,
    build.command,
    flash.command,
    features.command,
    run.command,
    verify.command,
    demo.command,
    profile.command,
]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tinygen")
@click.option("-q", "--quiet", is_flag=True, help="Only print errors and results.")
def cli(quiet: bool) -> None:
    """tinygen: full-int8 TensorFlow Lite models to verified microcontroller firmware.

    \b
    Typical flow:
      tinygen inspect model.tflite
      tinygen build --board nano33 --model model.tflite
      tinygen verify --board qemu-m4 --model model.tflite --random 50
    """


def _register() -> None:
    for command in COMMANDS:
        cli.add_command(command)


def main() -> None:
    _register()
    cli()


if __name__ == "__main__":
    main()
