"""Atomic file output: nothing a user saved is lost when a run fails or is interrupted."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_output(path: str | os.PathLike[str], binary: bool = True) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it onto ``path``.

    The temporary file has mode ``0o666`` minus the umask (like ``open``). If the
    ``with`` block raises (or the process is interrupted), ``path`` keeps its old
    content and the temporary file is removed.

    Parameters
    ----------
    path : path-like
        The final file name.
    binary : bool
        Open in binary (default) or text (UTF-8) mode.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def folder_write_problem(folder: str | os.PathLike[str]) -> str | None:
    """Why files cannot be created in ``folder`` (``None`` if they can).

    Creates and removes a hidden temporary file there, the same way
    :func:`atomic_output` will, so a run can refuse an unusable output path before it
    computes anything (permissions, read-only or pseudo file systems such as /proc).
    """
    probe = Path(folder) / f".mrdmft-write-test.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        return error.strerror or type(error).__name__
    os.close(fd)
    probe.unlink()
    return None
