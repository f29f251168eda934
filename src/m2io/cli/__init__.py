"""The ``m2io`` command line: one module per group of commands, all on the root group ``cli``.

    m2io corpus manual --package gimp-help-en --name gimp --out data/gimp
    m2io ask "How do I align layers?" --index index/gimp
"""
from __future__ import annotations

import sys

import click

from m2io.cli import answer, corpus, index, serve, train, train_r1, train_reranker, train_retriever, unified  # noqa: F401  (they register)
from m2io.cli.base import cli
from m2io.errors import M2IOError

__all__ = ["cli", "main"]


def main() -> None:
    try:
        cli(standalone_mode=True)
    except M2IOError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
