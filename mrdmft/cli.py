"""Command line of mrdmft: ``mrdmft COMMAND [MODEL] [options]`` (also ``python -m mrdmft``).

:func:`main` parses the arguments (:mod:`mrdmft.cli_parser`), runs one command
(:mod:`mrdmft.cli_commands`) and turns every failure into an exit status:

* 0 — success;
* 2 — bad input: exactly one line on stderr, ``error: <field>: <problem> (<fix>)``
  (a :class:`~mrdmft.theory.errors.ModelInputError`, including argument errors), and
  nothing written to disk;
* 1 — a solver that reports no success, or an unexpected internal error (one line
  ``error: internal: ...``; ``--debug`` also prints the traceback).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from mrdmft.theory.errors import ModelInputError

from .cli_parser import build_parser

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = 130


def tolerate_narrow_encodings() -> None:
    """Print characters the terminal's encoding lacks (e.g. ``±``, ``√`` or Greek region names
    under ``PYTHONIOENCODING=ascii``) as ``\\uXXXX`` escapes instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mrdmft`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status (0 success, 1 failure or internal error, 2 bad input).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    tolerate_narrow_encodings()
    try:
        args = build_parser().parse_args(argv)
        debug = bool(getattr(args, "debug", False))
        from .cli_commands import COMMANDS

        return COMMANDS[args.command](args)
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except ModelInputError as exc:
        print(exc.one_line(), file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print(
            "error: interrupted: stopped by the user (output files are written atomically when a run ends: "
            "none is half-written, earlier files are unchanged)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `mrdmft presets | head -1`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into one line
        if debug:
            traceback.print_exc()
        problem = " ".join(f"{type(exc).__name__}: {exc}".split())
        print(f"error: internal: {problem} (please report this; rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_FAILURE
