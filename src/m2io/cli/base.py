"""The root ``m2io`` group and small helpers every command module shares."""
from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def cli() -> None:
    """m2io: answers that interleave text with the right images."""


def _with(options):
    def wrap(f):
        for option in reversed(options):
            f = option(f)
        return f
    return wrap


def _export(export, run: Path, out: Path, note: str | None) -> None:
    """Run an ``export(run, out, note)`` that ships a trained model, and say where it went and how big it is."""
    from m2io.errors import M2IOError

    try:
        done = export(run, out, note)
    except FileNotFoundError as e:
        raise M2IOError(str(e)) from e
    size = sum(f.stat().st_size for f in done.iterdir()) / 2 ** 20
    click.echo(f"wrote {done} ({size:.1f} MiB)")


def _command_line() -> str:
    """This run's command line as typed (for the run record and the adapter card)."""
    import shlex

    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
