"""Argument parsing of the ``mrdmft`` command line.

Builds the :mod:`argparse` parser with one subcommand per job and validates the
numeric options while parsing. Every parsing problem is raised as
:class:`~mrdmft.theory.errors.ModelInputError` (printed as one line,
``error: <field>: <problem> (<fix>)``, exit status 2) instead of argparse's
usage-plus-message on stderr.

Only the standard library is imported here, so ``mrdmft --help`` is instant.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from pathlib import Path

from mrdmft import __version__
from mrdmft.theory.errors import ModelInputError

DEFAULT_MODEL_NAME = "fig3-1"
"""The built-in default model (kept equal to ``mrdmft.theory.modelfile.DEFAULT_MODEL``; a test checks it)."""

MODEL_HELP = (
    "a model file (TOML, see README 'Model files') or the name of a built-in preset "
    f"(list them with `mrdmft presets`); default: {DEFAULT_MODEL_NAME}"
)

DESCRIPTION = """\
mrdmft: mean-field theory workbench for multiregion recurrent neural networks
(Clark & Beiran, arXiv:2402.12188).

A model is a set of brain regions connected by low-rank edges; its mean-field
theory is written in terms of the cross-region currents S^{alpha beta} (the
current from region beta into region alpha). Each command reads a model file
(TOML) or the name of a built-in preset, derives or solves the mean-field
equations, and prints aligned tables, or stable JSON with --json.
"""

EPILOG = """\
examples:
  mrdmft presets                          list the built-in models
  mrdmft derive two-regions               print the derived current equations
  mrdmft fixed-points fig3-1 --json       fixed points of the currents, as JSON
  mrdmft stability fig6-r3                spectrum of Psi L, zero-state threshold
  mrdmft stationary fig3-1-disorder       per-region chaos / currents phases
  mrdmft dmft single-loop --t-max 40 --out run.npz
  mrdmft simulate fig3-1 --n 2000 --t-max 100 --seed 1
  mrdmft validate single-loop --sizes 500,1000 --seeds 5 --t-max 60
  mrdmft report                           notebook + HTML report of the default model

exit status: 0 success, 1 internal error or a solver that did not converge,
2 bad input (one line on stderr: error: <field>: <problem> (<fix>)).
Run `mrdmft COMMAND --help` for the options and the JSON keys of a command.
"""


class OneLineArgumentParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are :class:`ModelInputError` (one line, exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raise the argparse ``message`` as ``ModelInputError(field, problem, fix)``."""
        raise argument_error(message, self.prog)

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def,override]
        """Parse as argparse does, then refuse conflicting options (:func:`check_conflicts`)."""
        namespace, extras = super().parse_known_args(args, namespace)
        check_conflicts(namespace)
        return namespace, extras


def check_conflicts(namespace: argparse.Namespace) -> None:
    """Refuse options that contradict each other, and resolve ``derive``'s output format.

    ``--json`` means ``--format json``; together with ``--format text`` or ``--format latex``
    it is refused. Afterwards ``namespace.format`` is ``"json"`` with ``--json`` and
    ``"text"`` when neither was given.

    Raises
    ------
    ModelInputError
        On field ``--json`` when both are given and disagree.
    """
    if not hasattr(namespace, "format"):
        return
    if getattr(namespace, "json", False):
        if namespace.format not in (None, "json"):
            raise ModelInputError(
                "--json", f"conflicts with --format {namespace.format}", "give either --json or --format, not both"
            )
        namespace.format = "json"
    elif namespace.format is None:
        namespace.format = "text"


def argument_error(message: str, prog: str) -> ModelInputError:
    """Translate an argparse error message into a :class:`ModelInputError`.

    Parameters
    ----------
    message : str
        argparse's message, e.g. ``"argument --dt: must be > 0 (give e.g. --dt 0.05)"``
        or ``"the following arguments are required: --t-max"``.
    prog : str
        The (sub)command, e.g. ``"mrdmft dmft"``, used in the suggested fix.
    """
    see_help = f"see `{prog} --help`"
    message = " ".join(message.split())
    match = re.fullmatch(r"argument (\S+?)(?:/\S+)?: (.+)", message)
    if match:
        field, problem = match.groups()
        with_fix = re.fullmatch(r"(.+) \((.+)\)", problem)
        if with_fix:
            return ModelInputError(field, with_fix.group(1), with_fix.group(2))
        return ModelInputError(field, problem, see_help)
    match = re.fullmatch(r"the following arguments are required: (.+)", message)
    if match:
        names = [name.strip().split("/")[0] for name in match.group(1).split(",")]
        if names[0] == "COMMAND":
            return ModelInputError("COMMAND", "no command given", f"choose one; {see_help}")
        others = f"also give {', '.join(names[1:])}; " if len(names) > 1 else ""
        return ModelInputError(names[0], "is required", f"{others}{see_help}")
    match = re.fullmatch(r"unrecognized arguments: (.+)", message)
    if match:
        return ModelInputError("arguments", f"unrecognized {match.group(1)}", see_help)
    return ModelInputError("arguments", message.replace(":", " -"), see_help)


# ---------------------------------------------------------------------- option types
def _number(text: str, kind: type, option: str, example: str) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {what} (give e.g. {option} {example})") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not finite (give e.g. {option} {example})")
    return value


def bounded(kind: type, option: str, example: str, low: float, strict: bool) -> Callable[[str], float | int]:
    """An argparse ``type`` accepting ``kind`` values ``> low`` (strict) or ``>= low``.

    Parameters
    ----------
    kind : type
        ``int`` or ``float``.
    option : str
        Option name, for the suggested fix.
    example : str
        A valid value, for the suggested fix.
    low : float
        Lower bound.
    strict : bool
        Whether the bound is excluded.
    """

    def convert(text: str) -> float | int:
        value = _number(text, kind, option, example)
        if value < low or (strict and value == low):
            relation = ">" if strict else ">="
            raise argparse.ArgumentTypeError(f"{text} is not {relation} {low:g} (give e.g. {option} {example})")
        return value

    convert.__name__ = f"{kind.__name__} {'>' if strict else '>='} {low:g}"
    return convert


def output_path(text: str) -> Path:
    """argparse ``type`` of ``--out``: a non-empty path (``""`` would silently mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty (give a path: FILE.npz for dmft, FILE.json for validate, a folder for report)")
    return Path(text)


def sizes_list(text: str) -> list[int]:
    """argparse ``type`` of ``--sizes``: ``"1000,2000"`` → ``[1000, 2000]`` (distinct integers >= 2, sorted)."""
    example = "--sizes 1000,2000"
    sizes = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            raise argparse.ArgumentTypeError(f"{text!r} has an empty entry (give e.g. {example})")
        value = _number(part, int, "--sizes", "1000,2000")
        if value < 2:
            raise argparse.ArgumentTypeError(f"{value} is not >= 2 neurons per region (give e.g. {example})")
        sizes.append(value)
    if not sizes:
        raise argparse.ArgumentTypeError(f"no size given (give e.g. {example})")
    if len(set(sizes)) != len(sizes):
        raise argparse.ArgumentTypeError(f"{text} repeats a size (give e.g. {example})")
    return sorted(sizes)


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", default=None, metavar="MODEL", help=MODEL_HELP)


def _add_json(parser: argparse.ArgumentParser, keys: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print JSON instead of tables; keys: {keys}")


def _add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="print progress to stderr (default: only when stderr is a terminal and --json is not given)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``mrdmft`` argument parser (one subparser per command)."""
    parser = OneLineArgumentParser(
        prog="mrdmft",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mrdmft {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of internal errors")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=OneLineArgumentParser)

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=f"{summary}.\n\n{description}",
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = command("presets", "list the built-in models, one line each (name and description)",
                "Any preset name can be given wherever a model file is expected.")
    _add_json(p, '"default", "presets": [{"name", "description"}]')

    p = command("derive", "print the mean-field equations derived with sympy for a model",
                "Shows the gain psi(Delta) of the nonlinearity, the structured variance Delta of each\n"
                "region, the current equations dS/dt = -S + psi * T S (g = 0) and the operator Psi L whose\n"
                "spectrum decides the stability of the quiescent state (Clark & Beiran, arXiv:2402.12188).")
    _add_model(p)
    p.add_argument("--format", choices=("text", "latex", "json"), default=None,
                   help="output format (default: text; --json is the same as --format json)")
    p.add_argument("--json", action="store_true", help='same as --format json; keys: "model", "regions", "channels", '
                   '"gain", "variance", "currents", "operator", "zero_state_condition", "transitions"')

    p = command("fixed-points", "find the fixed points of the currents and their stability (models with g = 0)",
                "Multi-start Newton / least-squares on the derived current equations; distinct fixed points\n"
                "are listed stable first, with the eigenvalues of the Jacobian. A^alpha = sum U S S is the\n"
                "structured variance of region alpha. Models with disorder (g > 0) need `stationary` or `dmft`.")
    _add_model(p)
    p.add_argument("--starts", type=bounded(int, "--starts", "200", 1, strict=False), default=200,
                   help="number of random initial conditions (default: 200)")
    p.add_argument("--seed", type=bounded(int, "--seed", "0", 0, strict=False), default=0, help="random seed (default: 0)")
    p.add_argument("--show", type=bounded(int, "--show", "3", 0, strict=False), default=3,
                   help="print the currents of the first SHOW fixed points (default: 3)")
    _add_json(p, '"model", "fixed_points": [{"currents": {edge: S}, "A": {region}, "gain": {region}, '
              '"stable", "max_real_eigenvalue", ...}]')

    p = command("stability", "spectrum of the effective-interaction operator Psi L and the zero-state threshold",
                "The quiescent state S = 0 is unstable iff an eigenvalue of Psi L has real part > 1\n"
                "(Clark & Beiran); psi = 1 in quiescent regions, psi(Delta0_SCS(g)) in regions in pure chaos.")
    _add_model(p)
    _add_json(p, '"gain": {region: psi}, "operator_eigenvalues": [[re, im], ...], "leading_eigenvalue": [re, im], '
              '"zero_state_stable"')

    p = command("stationary", "per-region stationary solution (static / chaos+currents / chaos) and transition values of g",
                "Solves the particle-in-a-potential problem of each region (Clark & Beiran): total\n"
                "variance Delta0, long-time variance Delta_inf, structured variance A, and the disorder\n"
                "strengths g at which chaos sets in and at which the currents vanish.")
    _add_model(p)
    _add_json(p, '"regions": {region: {"phase", "Delta0", "Delta_inf", "A", "g_chaos_onset", "g_currents_vanish"}}')

    p = command("dmft", "integrate the two-time dynamical mean-field theory (currents, gains, Delta(t, t'))",
                "Forward-Euler integration of the closed system for S(t) and each region's Delta(t, t')\n"
                "of Clark & Beiran on a grid of step DT; the grid ends at the last step <= T_MAX, i.e.\n"
                "t = floor(T_MAX/DT) * DT (T_MAX = 10, DT = 0.9 ends at 9.9). Memory grows like (T_MAX/DT)^2 per\n"
                "region: use --window for long runs. Arrays go to --out (a NumPy .npz archive).")
    _add_model(p)
    p.add_argument("--t-max", type=bounded(float, "--t-max", "50", 0, strict=True), required=True,
                   help="final time (units of the neuronal time constant); the grid ends at the last step <= T_MAX")
    p.add_argument("--dt", type=bounded(float, "--dt", "0.05", 0, strict=True), default=0.05,
                   help="time step (default: 0.05, as in the paper)")
    p.add_argument("--window", type=bounded(int, "--window", "800", 1, strict=False), default=None,
                   help="keep only the last WINDOW steps of Delta(t, t') (memory O(N_t * WINDOW)); WINDOW * DT must be >= 10, >= 40 is a safe start")
    p.add_argument("--out", type=output_path, default=None, metavar="FILE.npz",
                   help="write the arrays (t, currents, gain, delta with dimension names) to this .npz file; "
                   "written only if the run succeeds")
    _add_progress(p)
    _add_json(p, '"t_final", "currents_final": {edge: S}, "gain_final": {region: psi}, '
              '"Delta_equal_time_final": {region: Delta(t,t)}')

    p = command("simulate", "simulate a finite network and compare measured with predicted A per region",
                "Samples a network of N neurons per region with the model's overlaps,\n"
                "integrates it, and compares the measured structured variance A = sum U S S (currents\n"
                "averaged after --t-settle) with the mean-field prediction: the stable fixed point nearest\n"
                "to the measured currents for g = 0 models, the stationary solution for g > 0.")
    _add_model(p)
    p.add_argument("--n", type=bounded(int, "--n", "2000", 2, strict=False), required=True,
                   help="neurons per region (times the region's relative size)")
    p.add_argument("--t-max", type=bounded(float, "--t-max", "100", 0, strict=True), required=True,
                   help="simulated time (units of the neuronal time constant)")
    p.add_argument("--seed", type=bounded(int, "--seed", "0", 0, strict=False), default=0,
                   help="seed of the connectivity and initial state (default: 0)")
    p.add_argument("--dt", type=bounded(float, "--dt", "0.05", 0, strict=True), default=0.05,
                   help="time step (default: 0.05)")
    p.add_argument("--t-settle", type=bounded(float, "--t-settle", "0", 0, strict=False), default=None,
                   help="average the currents over t >= T_SETTLE (default: T_MAX / 2)")
    p.add_argument("--float32", action="store_true", help="simulate in single precision (faster, less memory)")
    p.add_argument("--exact-overlaps", action="store_true",
                   help="whiten the sampled vectors so the realized overlaps equal T and U exactly (the report does; "
                        "default: i.i.d. vectors, whose overlaps scatter by O(1/sqrt(N)))")
    _add_progress(p)
    _add_json(p, '"N", "seed", "measured": {"A", "currents_final"}, "predicted": {"A"}, "relative_error_A", '
              '"realized_overlaps": {"T", "U"}, ...')

    p = command("validate", "simulate finite networks at several sizes and compare A with the theory",
                "For every size in --sizes, SEEDS networks are sampled and integrated; the structured variance\n"
                "A = sum U S S of the currents averaged after --t-settle is compared with the mean-field\n"
                "prediction (stable fixed points for g = 0, stationary solution for g > 0): mean ± standard\n"
                "error over seeds and z = (mean - predicted) / SE. With two or more sizes, the finite-size law\n"
                "A(N) = A_inf + c / N^EXPONENT is fitted (weights 1/SE^2) and A_inf compared with the prediction.\n"
                "A pass whose 3 SE exceeds half the predicted A (tiny N, few seeds) is reported as inconclusive.\n"
                "Cost grows like N^2 per region and time step. The verdicts (|z| <= 3, scatter shrinking, A_inf)\n"
                "are part of the output: exit status 0 when the runs finish whatever they say, 1 when the model\n"
                "has no prediction or a network became non-finite, 2 for bad input.")
    _add_model(p)
    p.add_argument("--sizes", type=sizes_list, required=True, metavar="N1,N2,...",
                   help="neurons per region of the simulated networks, comma-separated (e.g. 1000,2000)")
    p.add_argument("--seeds", type=bounded(int, "--seeds", "5", 2, strict=False), default=5,
                   help="sampled networks per size, seeds 0 .. SEEDS-1 (default: 5; >= 2 for a standard error)")
    p.add_argument("--t-max", type=bounded(float, "--t-max", "150", 0, strict=True), required=True,
                   help="simulated time of every network")
    p.add_argument("--t-settle", type=bounded(float, "--t-settle", "0", 0, strict=False), default=None,
                   help="average the currents over t >= T_SETTLE (default: T_MAX / 2)")
    p.add_argument("--dt", type=bounded(float, "--dt", "0.05", 0, strict=True), default=0.05,
                   help="time step (default: 0.05)")
    p.add_argument("--exponent", type=bounded(float, "--exponent", "1", 0, strict=True), default=1.0,
                   help="p of the finite-size law A(N) = A_inf + c / N^p, 0.1 <= p <= 4 (default: 1)")
    p.add_argument("--float32", action="store_true", help="simulate in single precision (faster, less memory)")
    p.add_argument("--exact-overlaps", action="store_true",
                   help="sample the connectivity so that the realized overlaps n.m/N, m.m/N equal T and U exactly")
    p.add_argument("--out", type=output_path, default=None, metavar="FILE.json",
                   help="write the record (settings, every seed's A, the fit) to this JSON file, atomically at the end")
    _add_progress(p)
    _add_json(p, '"model", "table": {"passes", "resolution": {"detectable_relative_error", "conclusive", ...}, '
              '"rows": [{"region", "N", "predicted_A", "mean_A", "stderr_A", "z_score", "samples_A", ...}]}, '
              '"scatter_shrinks", "extrapolation": {"passes", "resolution", "regions": {region: {"A_infinity", '
              '"stderr_A_infinity", "z_score"}}}')

    p = command("report", "executed notebook + HTML report for a model",
                "Runs the report notebook (model, derived equations, fixed points, Psi L spectrum,\n"
                "simulation vs theory) and writes report.ipynb and report.html into --out.\n"
                "Other files in that folder are never touched.")
    _add_model(p)
    p.add_argument("--out", type=output_path, default=Path("mrdmft-report"), metavar="DIR",
                   help="output folder (default: ./mrdmft-report)")
    p.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true",
                   help="do not print progress (the other commands' --no-progress is accepted too)")
    return parser
