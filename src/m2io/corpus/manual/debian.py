"""Fetch a Debian package's files without installing it: ``apt-get download`` + ``dpkg -x``.

Real manuals with human-placed figures ship as Debian packages (``gimp-help-en``,
``kicad-doc-en``, ``debian-handbook``). The unpacked tree is cached; a finished unpack is
marked so an interrupted one is redone, never half-used.

Example (needs apt-get and network access to the Debian mirrors)::

    root = fetch_package("gimp-help-en", default_cache_dir())
    # root / "usr/share/gimp/2.0/help/en/index.html" now exists
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from m2io.errors import M2IOError

_DONE = ".m2io-unpacked"
_PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.\-]+$")


class PackageError(M2IOError):
    """A Debian package could not be downloaded or unpacked."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/m2io`` (``~/.cache/m2io``)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "m2io"


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError as e:
        raise PackageError(f"{cmd[0]} not found: fetching Debian packages needs a Debian-based system") from e


def _download(package: str, into: Path) -> Path:
    result = _run(["apt-get", "download", package], into)
    if result.returncode != 0 and os.geteuid() == 0:
        # A fresh machine has no package lists yet; refresh them once and retry.
        _run(["apt-get", "update"], into)
        result = _run(["apt-get", "download", package], into)
    debs = sorted(into.glob("*.deb"))
    if result.returncode != 0 or not debs:
        raise PackageError(f"apt-get download {package} failed: {result.stderr.strip() or result.stdout.strip()}")
    return debs[0]


SOURCE_FILE = "m2io-source.json"
"""Written beside a corpus built from a Debian package: the package and the .deb it came from."""


def write_source(corpus: Path, package: str, root: Path) -> Path:
    """Record in ``corpus`` which package (and version, from the unpacked .deb's name) it was built from."""
    import json

    marker = Path(root) / _DONE
    deb = marker.read_text().strip() if marker.is_file() else ""
    version = deb.split("_")[1].replace("%3a", ":") if deb.count("_") >= 2 else ""
    path = Path(corpus) / SOURCE_FILE
    path.write_text(json.dumps({"package": package, "version": version, "deb": deb}) + "\n")
    return path


def read_source(corpus: Path) -> dict | None:
    """What :func:`write_source` recorded, or None (a corpus not built from a package)."""
    import json

    path = Path(corpus) / SOURCE_FILE
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except ValueError:
        return None


def fetch_package(package: str, cache: Path) -> Path:
    """Return the folder holding the unpacked files of Debian package ``package``."""
    if not _PACKAGE_NAME.match(package):
        raise PackageError(f"not a Debian package name: {package!r}")
    dest = Path(cache) / "debs" / package
    if (dest / _DONE).is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{package}.") as tmp:
        tmp = Path(tmp)
        deb = _download(package, tmp)
        tree = tmp / "tree"
        result = _run(["dpkg", "-x", str(deb), str(tree)], tmp)
        if result.returncode != 0:
            raise PackageError(f"dpkg -x {deb.name} failed: {result.stderr.strip()}")
        (tree / _DONE).write_text(deb.name + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        tree.rename(dest)
    return dest
