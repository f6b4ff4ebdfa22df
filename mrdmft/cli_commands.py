"""The subcommands of ``mrdmft``: load the model, call one solver, print the result.

Each ``run_<command>(args)`` returns the exit status (0 success, 1 the solver reports
no success). Bad input is raised as :class:`~mrdmft.theory.errors.ModelInputError`
*before* anything is written to disk; :func:`mrdmft.cli.main` prints it as one line
and exits with status 2. Solvers are imported inside the commands so that the CLI
starts fast and the commands whose modules exist work on their own.

Every computing command builds the JSON payload of the contract in README.md and
prints it with ``--json``, or renders the same payload as aligned tables.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrdmft.theory.errors import ModelInputError

from .cli_output import as_payload, chop, dump_json, format_currents, format_number, format_table, region_rows

if TYPE_CHECKING:
    from mrdmft.theory.spec import ModelSpec


# ---------------------------------------------------------------------- helpers
def load_spec(args: argparse.Namespace) -> "ModelSpec":
    """Load ``args.model`` (file path or preset name; ``None`` → the default model)."""
    from mrdmft.theory.modelfile import load_model

    return load_model(args.model)


SOLVER_ARGUMENTS = {
    "t_max": "--t-max",
    "dt": "--dt",
    "window": "--window",
    "n": "--n",
    "seed": "--seed",
    "n_starts": "--starts",
    "t_settle": "--t-settle",
    "out_dir": "--out",
    "exact_overlaps": "--exact-overlaps",
}
"""Solver keyword → the command-line option that sets it (for error messages)."""


@contextmanager
def options_named(mapping: Mapping[str, str] = SOLVER_ARGUMENTS) -> Iterator[None]:
    """Re-raise a solver's ``ModelInputError`` about a keyword under its option name.

    ``solve_dmft`` reports ``dt: ...``; on the command line the user typed ``--dt``. A fix
    written as a Python argument (``pass window=1200``) becomes ``pass --window 1200``.
    """
    try:
        yield
    except ModelInputError as exc:
        if exc.field not in mapping:
            raise
        fix = exc.fix
        for keyword, option in mapping.items():
            fix = re.sub(rf"\b{re.escape(keyword)}=", f"{option} ", fix)
            if len(keyword) > 1:  # "use a shorter t_max" -> "use a shorter --t-max" (a bare "n" is too common a word)
                fix = re.sub(rf"(?<![-\w]){re.escape(keyword)}\b", option, fix)
        raise ModelInputError(mapping[exc.field], exc.problem, fix) from None


def _progress(args: argparse.Namespace) -> bool:
    if args.progress is not None:
        return bool(args.progress)
    return sys.stderr.isatty() and not args.json


def _neuron_counts(spec: "ModelSpec", payload: Mapping[str, Any]) -> str:
    """`` neurons per region`` or, with unequal region sizes, ``: A 10, B 1 neurons``."""
    counts = payload.get("region_sizes") or {}
    if not counts or len(set(counts.values())) == 1:
        return " neurons per region"
    return " (N_alpha = N x size: " + ", ".join(f"{r} {counts[r]}" for r in spec.regions if r in counts) + " neurons)"


def _headline(spec: "ModelSpec") -> str:
    g = ", ".join(format_number(x, 4) for x in spec.g)
    return f"model {spec.name}: {_count(spec.n_regions, 'region')} ({', '.join(spec.regions)}), {_count(spec.n_channels, 'current')}, g = [{g}]"


def _report_failure(command: str, result: Any, fix: str) -> int:
    """Print a one-line error if the solver result says it did not succeed; the exit status."""
    if getattr(result, "success", True):
        return 0
    message = " ".join(str(getattr(result, "message", "no message")).split())
    print(f"error: {command}: solver did not succeed: {message} ({fix})", file=sys.stderr)
    return 1


def _count(n: int, noun: str) -> str:
    """``"1 region"``, ``"2 regions"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def check_out_file(path: Path, suffix: str) -> Path:
    """Validate an output file path before any computation (nothing is written here).

    Raises
    ------
    ModelInputError
        If the suffix is wrong, the path is a folder, or its folder does not exist.
    """
    if path.suffix != suffix:
        raise ModelInputError("--out", f"{path} does not end in {suffix}", f"name the file e.g. run{suffix}")
    if path.is_dir():
        raise ModelInputError("--out", f"{path} is a folder", f"give a file name ending in {suffix}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ModelInputError("--out", _missing_folder(parent), "choose a path inside an existing folder")
    _require_writable(parent)
    return path


def _missing_folder(folder: Path) -> str:
    """Why ``folder`` cannot hold the output: one of its parts is a file, or it does not exist."""
    for part in (folder, *folder.parents):
        if part.exists():
            return f"{part} is a file, not a folder" if not part.is_dir() else f"folder {folder} does not exist"
    return f"folder {folder} does not exist"


def _require_writable(folder: Path) -> None:
    """Raise ModelInputError if no file can be created in ``folder``."""
    from mrdmft.solvers.atomic_files import folder_write_problem

    problem = folder_write_problem(folder)
    if problem is not None:
        raise ModelInputError("--out", f"cannot create files in folder {folder} ({problem})", "choose a folder you can write to")


def check_out_dir(path: Path) -> Path:
    """Validate an output folder path (it may not exist yet; its parent must)."""
    if path.exists() and not path.is_dir():
        raise ModelInputError("--out", f"{path} exists and is not a folder", "give a folder path")
    if not path.exists() and not path.absolute().parent.is_dir():
        raise ModelInputError("--out", _missing_folder(path.absolute().parent), "choose a path inside an existing folder")
    _require_writable(path if path.exists() else path.absolute().parent)
    return path


# ---------------------------------------------------------------------- presets
def run_presets(args: argparse.Namespace) -> int:
    """``mrdmft presets``: one line per preset, name and description."""
    from mrdmft.theory.modelfile import DEFAULT_MODEL, preset_descriptions

    descriptions = preset_descriptions()
    if args.json:
        presets = [{"name": name, "description": text} for name, text in descriptions.items()]
        print(dump_json({"default": DEFAULT_MODEL, "presets": presets}))
        return 0
    width = max(len(name) for name in descriptions)
    for name, text in descriptions.items():
        suffix = "  [default]" if name == DEFAULT_MODEL else ""
        print(f"{name.ljust(width)}  {text}{suffix}")
    return 0


# ---------------------------------------------------------------------- derive
def run_derive(args: argparse.Namespace) -> int:
    """``mrdmft derive``: the derived equations as text, LaTeX or JSON.

    Besides the current equations of the model (:func:`mrdmft.theory.derivation.derive`),
    prints the closed-form stationary transitions of a region pinned by a loop of
    strength lambda (``transition_formulas``, THEORY sections 4-5).
    """
    spec = load_spec(args)
    from mrdmft.theory.derivation import derive, latex_escape

    system = derive(spec)
    transitions = _transition_formulas(spec.nonlinearity)
    fmt = "json" if args.json else args.format
    if fmt == "json":
        payload = as_payload(system.to_json())
        if transitions:
            payload["transitions"] = {name: sp_str for name, (sp_str, _) in transitions.items()}
        print(dump_json(payload))
    elif fmt == "latex":
        print(system.to_latex())
        if transitions:
            rows = [rf"\mathrm{{{latex_escape(name)}}}(\lambda) &= {latex}" for name, (_, latex) in transitions.items()]
            print("\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}")
    else:
        print(system.to_text())
        if transitions:
            print("\nStationary transitions of a region pinned by a loop of strength lambda > 1:")
            for name, (text, _) in transitions.items():
                print(f"  {name}(lambda) = {text}")
    return 0


def _transition_formulas(nonlinearity: str) -> dict[str, tuple[str, str]]:
    """``name -> (plain text, LaTeX)`` of the stationary transition formulas ({} if unavailable)."""
    try:
        from mrdmft.theory.stationary_equations import transition_formulas
    except ImportError:
        return {}
    import sympy as sp

    return {name: (sp.sstr(expr), sp.latex(expr)) for name, expr in transition_formulas(nonlinearity).items()}


# ---------------------------------------------------------------------- fixed points
def run_fixed_points(args: argparse.Namespace) -> int:
    """``mrdmft fixed-points``: distinct fixed points, stable first, with stability."""
    spec = load_spec(args)
    from mrdmft.solvers.fixed_points import find_fixed_points

    with options_named():
        result = find_fixed_points(spec, n_starts=args.starts, seed=args.seed)
    payload = as_payload(result.to_json())
    payload.setdefault("model", spec.name)
    if args.json:
        print(dump_json(payload))
    else:
        print(render_fixed_points(spec, payload, args.starts, args.seed, args.show))
    return _report_failure("fixed-points", result, "try more --starts or another --seed")


ZERO_MODE = 1e-10
"""A Jacobian eigenvalue this small is a zero mode along a manifold of fixed points (round-off level)."""


def render_fixed_points(spec: "ModelSpec", payload: dict, starts: int, seed: int, show: int) -> str:
    """Human output of ``fixed-points``: a summary table, then currents of the first ``show``."""
    points = payload["fixed_points"]
    n_stable = sum(bool(p["stable"]) for p in points)
    # marginal points with true zero modes (a manifold), not eigenvalues merely within eig_tol (a loop at threshold)
    n_marginal = sum(
        p.get("classification") == "marginal" and min((abs(complex(*e)) for e in p.get("eigenvalues", [])), default=1.0) < ZERO_MODE
        for p in points
    )
    notes = [payload["message"].split("; ", 1)[1]] if "; " in payload.get("message", "") else []
    if n_stable == 0:
        notes.append(
            f"no stable fixed point among those found from {_count(starts, 'start')}: either the currents cannot "
            "settle (they oscillate or wander; `mrdmft simulate` or `mrdmft dmft` shows what they do) or the search "
            "missed the stable ones (try more --starts)"
        )
    if n_marginal > 1:
        notes.append(
            f"the {n_marginal} marginal points sample continuous manifolds of fixed points (zero modes along "
            "them, THEORY section 5): random starts land on different points of the same manifolds"
        )
    lines = [
        _headline(spec),
        f"{_count(len(points), 'distinct fixed point')} from {_count(starts, 'start')} (seed {seed}), "
        f"{n_stable} stable or marginal",
        *[f"note: {note}" for note in notes],
        f"(stable: every Jacobian eigenvalue has Re < -{payload.get('eig_tol', 1e-7):g}; marginal: none above "
        f"+{payload.get('eig_tol', 1e-7):g} but some zero modes, as along a manifold of fixed points; "
        "A = sum U S S per region)",
        "",
    ]
    header = ["#", "class", "stable", "max Re eig", "residual"] + [f"A[{r}]" for r in spec.regions]
    rows = []
    for i, p in enumerate(points, 1):
        label = p.get("classification", "stable" if p["stable"] else "unstable")
        A = chop(p["A"])
        rows.append([str(i), label, p["stable"], p["max_real_eigenvalue"], p.get("residual")] + [A.get(r) for r in spec.regions])
    lines.append(format_table(header, rows))
    for i, p in enumerate(points[:show], 1):
        lines += ["", f"fixed point {i} ({p.get('classification', 'stable' if p['stable'] else 'unstable')}):"]
        lines.append(format_table(["region", "A", "psi"], region_rows(spec.regions, {"A": chop(p["A"]), "psi": p["gain"]}), "  "))
        lines.append("  currents S (row: target region, column: source region):" if spec.is_dense else "  currents S:")
        lines.append(format_currents(p["currents"], spec.regions, spec.is_dense))
    if len(points) > show:
        lines += ["", f"({_count(len(points) - show, 'more fixed point')}: use --show {len(points)} or --json)"]
    return "\n".join(lines)


# ---------------------------------------------------------------------- stability
def run_stability(args: argparse.Namespace) -> int:
    """``mrdmft stability``: spectrum of Psi L and whether S = 0 is stable."""
    spec = load_spec(args)
    from mrdmft.solvers.stability import zero_state_stability

    payload = as_payload(zero_state_stability(spec).to_json())
    payload.setdefault("model", spec.name)
    print(dump_json(payload) if args.json else render_stability(spec, payload))
    return 0


THRESHOLD_NOTE_TOL = 1e-6
"""``stability`` spells out Re lambda - 1 when it is smaller than this (six digits would show 1)."""


def _threshold_note(re: float) -> list[str]:
    """A note when the leading eigenvalue sits at the threshold Re lambda = 1 to within printing precision."""
    margin = re - 1.0
    if abs(margin) >= THRESHOLD_NOTE_TOL:
        return []
    return [
        f"note: Re lambda - 1 = {margin:.3g}: the zero state is at the threshold, where dS/dt is cubic in S; "
        "fixed-points calls Jacobian eigenvalues within its tolerance of 0 (default 1e-7) marginal, so it may "
        "list S = 0 as marginal (stable), and nonzero fixed points have A of order Re lambda - 1"
    ]


def render_stability(spec: "ModelSpec", payload: dict) -> str:
    """Human output of ``stability``."""
    re, im = payload["leading_eigenvalue"]
    verdict = "STABLE" if payload["zero_state_stable"] else "UNSTABLE"
    lines = [
        _headline(spec),
        f"quiescent state S = 0 is {verdict}: leading eigenvalue of Psi L = {format_number(re)} "
        f"{'-' if im < 0 else '+'} {format_number(abs(im))}i (unstable iff Re > 1)",
        *_threshold_note(re),
        "",
        format_table(["region", "g", "psi"], region_rows(spec.regions, {"g": list(spec.g), "psi": payload["gain"]})),
        "",
        "eigenvalues of Psi L (largest real part first):",
    ]
    rows = [[str(i), re_, im_, abs(complex(re_, im_))] for i, (re_, im_) in enumerate(payload["operator_eigenvalues"], 1)]
    lines.append(format_table(["#", "Re", "Im", "|lambda|"], rows, "  "))
    return "\n".join(lines)


# ---------------------------------------------------------------------- stationary
STATIONARY_COLUMNS = ("phase", "Delta0", "Delta_inf", "A", "g_chaos_onset", "g_currents_vanish")


def run_stationary(args: argparse.Namespace) -> int:
    """``mrdmft stationary``: per-region stationary solution and transition values of g.

    Exit status 1 (and no numbers) when the per-region theory does not apply to the
    model (``StationaryReport.status`` 4 or 5) or a region's solve failed.
    """
    spec = load_spec(args)
    from mrdmft.solvers.stationary import INCONSISTENT, NO_STABLE_FIXED_POINT, stationary_regions

    report = stationary_regions(spec)
    payload = as_payload(report.to_json())
    payload.setdefault("model", spec.name)
    print(dump_json(payload) if args.json else render_stationary(spec, payload))
    model_level = report.status in (INCONSISTENT, NO_STABLE_FIXED_POINT)
    fix = f"e.g. mrdmft dmft {args.model or ''} --t-max 60".replace("  ", " ") if model_level else "check the model's loop strengths and g"
    return _report_failure("stationary", report, fix)


def render_stationary(spec: "ModelSpec", payload: dict) -> str:
    """Human output of ``stationary``: one row per region, or why there is no answer."""
    regions = payload["regions"]
    header = ["region", "g", "phase", "Delta0", "Delta_inf", "A", "g_chaos_onset", "g_currents_vanish"]
    lines = [
        _headline(spec),
        "phases: static (currents, no chaos) | chaos+currents | chaos (currents vanish); "
        "A = structured variance, Delta0 / Delta_inf = variance at lag 0 / infinity",
    ]
    if payload.get("status") in (4, 5):
        lines += [
            "",
            "NO STATIONARY PREDICTION: " + str(payload.get("message", "")),
            "(neither the per-region theory, which pins each region's gain by its own loop as in the paper's "
            "regime, nor the self-consistent solution of the whole model gives one stable state with constant currents; "
            "the currents may rotate or oscillate (a rotating state can even keep A constant) or the state may "
            "depend on the initial condition, so no numbers are shown)",
        ]
        return "\n".join(lines)
    rows = []
    notes = []
    for r, g in zip(spec.regions, spec.g):
        entry = regions.get(r, {})
        rows.append([r, float(g)] + [entry.get(key) for key in STATIONARY_COLUMNS])
        if entry.get("success") is False:
            notes.append(f"  region {r}: {entry.get('message', 'no solution')}")
    lines += ["", format_table(header, rows)]
    per_region = payload.get("loop_source") != "self-consistent"  # loop strengths only mean something there
    unpinned = [r for r in spec.regions
                if per_region and r in regions and (regions[r].get("loop_strength") or 0.0) <= 1.0]
    if unpinned:
        lines += [
            "",
            f"note: region(s) {', '.join(unpinned)} have no loop stronger than 1, so they never carry currents: "
            "their g_chaos_onset = g_currents_vanish = 1 is the transition to chaos of an isolated random network",
        ]
    driven = [r for r in spec.regions
              if per_region and r in regions and r not in unpinned and regions[r].get("g_chaos_onset") is None]
    if driven:
        lines += [
            "",
            f"note: region(s) {', '.join(driven)} read out no current that lies on a loop (driven feed-forward): "
            "their gain is set by their input, not pinned by a loop, so the transition values of g are not defined",
        ]
    check = payload.get("consistency")
    if check:
        lines += ["", f"checked: the regions form one stationary state of the model ({check.get('detail')})"]
    if notes:
        lines += ["", "failures:"] + notes
    return "\n".join(lines)


def check_step_below_duration(args: argparse.Namespace) -> None:
    """Refuse ``--dt >= --t-max`` with a step that every solver accepts as the fix."""
    if args.dt >= args.t_max:
        raise ModelInputError(
            "--dt", f"{args.dt} is not smaller than --t-max {args.t_max}",
            f"use a smaller --dt, e.g. {min(0.05, args.t_max / 10):g}",
        )


# ---------------------------------------------------------------------- dmft
def run_dmft(args: argparse.Namespace) -> int:
    """``mrdmft dmft``: two-time DMFT; arrays saved to ``--out`` only if the run succeeds."""
    spec = load_spec(args)
    out = check_out_file(args.out, ".npz") if args.out is not None else None
    check_step_below_duration(args)
    from mrdmft.solvers.dmft import solve_dmft

    with options_named():
        result = solve_dmft(spec, t_max=args.t_max, dt=args.dt, window=args.window, progress=_progress(args))
    fix = "try a smaller --dt" if result.window is None else "try a larger --window, or none"
    status = _report_failure("dmft", result, f"{fix}; nothing was saved")
    if out is not None and status == 0:
        result.save(out)
    payload = as_payload(result.to_json())
    payload.setdefault("model", spec.name)
    payload["out"] = str(out) if out is not None and status == 0 else None  # null: nothing was written
    print(dump_json(payload) if args.json else render_dmft(spec, payload))
    return status


def render_dmft(spec: "ModelSpec", payload: dict) -> str:
    """Human output of ``dmft``: final gains, equal-time Delta and currents."""
    columns = {"psi": payload["gain_final"], "Delta(t,t)": payload["Delta_equal_time_final"]}
    lines = [
        _headline(spec),
        f"state at t = {format_number(payload['t_final'])}:",
        "",
        format_table(["region", "psi", "Delta(t,t)"], region_rows(spec.regions, columns)),
        "",
        "currents S (row: target region, column: source region):" if spec.is_dense else "currents S:",
        format_currents(payload["currents_final"], spec.regions, spec.is_dense),
    ]
    if payload.get("out"):
        lines += ["", f"arrays written to {payload['out']}"]
    return "\n".join(lines)


# ---------------------------------------------------------------------- simulate
def simulation_settle_time(args: argparse.Namespace) -> float:
    """Check ``--t-max``, ``--t-settle``, ``--dt`` of a simulation; the settle time used.

    (The step count ``t_max / dt`` is limited by the simulator itself,
    :data:`mrdmft.solvers.simulate.MAX_STEPS`.)

    Raises
    ------
    ModelInputError
        If ``t_settle >= t_max``, ``dt >= t_max``, the grid (which ends at the last step
        ``<= t_max``) records no time ``>= t_settle``, or it needs too many steps.
    """
    from mrdmft.solvers.simulate import final_time

    t_settle = args.t_max / 2 if args.t_settle is None else args.t_settle
    if t_settle >= args.t_max:
        raise ModelInputError("--t-settle", f"{t_settle} is not below --t-max {args.t_max}", "give T_SETTLE < T_MAX")
    check_step_below_duration(args)
    with options_named():
        last = final_time(args.t_max, args.dt)
    if t_settle > last:
        raise ModelInputError(
            "--t-settle",
            f"{t_settle} is after the last step of the grid, t = {last:.6g} (the grid ends at the last multiple of "
            f"--dt {args.dt} not beyond --t-max {args.t_max})",
            f"give --t-settle <= {last:.6g} or a --t-max that is a multiple of --dt",
        )
    return t_settle


def run_simulate(args: argparse.Namespace) -> int:
    """``mrdmft simulate``: finite-N simulation vs mean-field prediction of A."""
    spec = load_spec(args)
    t_settle = simulation_settle_time(args)
    import numpy as np

    from mrdmft.solvers.simulate import simulate_network

    from .cli_prediction import choose_prediction, prediction_candidates

    candidates = prediction_candidates(spec)
    with options_named():
        result = simulate_network(
            spec,
            n=args.n,
            t_max=args.t_max,
            dt=args.dt,
            seed=args.seed,
            dtype=np.float32 if args.float32 else np.float64,
            exact_overlaps=args.exact_overlaps,
            progress=_progress(args),
        )
    settled = np.asarray(result.t) >= t_settle
    measured_currents = np.asarray(result.currents, dtype=float)[settled].mean(axis=0)
    prediction = choose_prediction(candidates, measured_currents)
    payload = as_payload(result.to_json(predicted_A=prediction.A, t_settle=t_settle))
    payload.setdefault("model", spec.name)
    payload["t_settle"] = t_settle
    payload["prediction"] = {"method": prediction.method, "note": prediction.note}
    if args.json:
        print(dump_json(payload))
    else:
        print(render_simulate(spec, payload, args))
    return _report_failure("simulate", result, "try a smaller --dt")


def _grid_end(payload: dict, t_max: float) -> str:
    """`` (last step at t = ...)`` when the recorded grid ends before ``t_max``, else empty."""
    last = float(payload.get("t_final") or t_max)
    return f" (last step at t = {format_number(last)})" if last < t_max * (1 - 1e-9) else ""


FEW_NEURONS = 20
"""``simulate`` warns when a region has fewer neurons than this."""


def render_simulate(spec: "ModelSpec", payload: dict, args: argparse.Namespace) -> str:
    """Human output of ``simulate``: measured vs predicted A per region, overlaps, currents."""
    import numpy as np

    measured = payload["measured"]["A"]
    predicted = (payload.get("predicted") or {}).get("A") or {}
    error = payload.get("relative_error_A") or {}
    sqrt = {r: (None if v is None or v < 0 else float(np.sqrt(v))) for r, v in measured.items()}
    sqrt_pred = {r: (None if v is None or v < 0 else float(np.sqrt(v))) for r, v in predicted.items()}
    columns = {"measured A": measured, "<A(t)>": payload.get("time_averaged_A") or {},
               "predicted A": predicted, "rel. error": error,
               "sqrt(A) measured": sqrt, "sqrt(A) predicted": sqrt_pred}
    lines = [
        _headline(spec),
        f"simulated N = {payload.get('N', args.n)}{_neuron_counts(spec, payload)}, t_max = {format_number(args.t_max)}"
        f"{_grid_end(payload, args.t_max)}, "
        f"dt = {format_number(args.dt)}, seed {payload.get('seed', args.seed)}, "
        f"{'float32' if args.float32 else 'float64'}; A averaged over t >= {format_number(payload['t_settle'])}",
        f"prediction: {payload['prediction']['note']}",
    ]
    if payload.get("stationary") is False:
        lines.append(stationarity_warning(payload))
    few = {r: n for r, n in (payload.get("region_sizes") or {}).items() if n < FEW_NEURONS}
    if few:
        counts = ", ".join(f"region {r} has {_count(n, 'neuron')}" for r, n in few.items())
        lines.append(
            f"WARNING: {counts}: "
            f"below {FEW_NEURONS} neurons a region cannot realize its overlaps or average its fluctuations, so the "
            "comparison with the N -> infinity theory is not meaningful; use a larger --n"
        )
    lines += [
        "",
        format_table(["region"] + list(columns), region_rows(spec.regions, columns)),
    ]
    realized = payload.get("realized_overlaps") or {}
    if "T" in realized and "U" in realized:
        dT = np.abs(np.asarray(realized["T"], dtype=float) - spec.T).max()
        dU = np.abs(np.asarray(realized["U"], dtype=float) - spec.U).max()
        lines += ["", f"realized overlaps: max |T_realized - T| = {format_number(dT, 3)}, "
                  f"max |U_realized - U| = {format_number(dU, 3)}"]
    lines += ["", "final currents S (row: target region, column: source region):" if spec.is_dense else "final currents S:",
              format_currents(payload["measured"]["currents_final"], spec.regions, spec.is_dense)]
    return "\n".join(lines)


def stationarity_warning(payload: dict) -> str:
    """The warning line of ``simulate`` when the currents are not static after t_settle."""
    measured = payload["measured"]["A"]
    averaged = payload.get("time_averaged_A") or {}
    worst = max(averaged, key=lambda r: (averaged[r] or 0.0) - (measured.get(r) or 0.0), default=None)
    detail = (
        f"; e.g. region {worst}: A(time-averaged currents) = {format_number(measured.get(worst))} but "
        f"<A(t)> = {format_number(averaged.get(worst))}" if worst is not None else ""
    )
    return (
        f"WARNING: the currents are NOT stationary after t = {format_number(payload['t_settle'])} (oscillation, "
        f"e.g. a limit cycle, or slow drift){detail}. 'measured A' is then not a stationary A and the comparison "
        "is not meaningful: see <A(t)>, run longer (--t-max, --t-settle), or use `mrdmft dmft`."
    )


# ---------------------------------------------------------------------- report
def run_report(args: argparse.Namespace) -> int:
    """``mrdmft report``: executed notebook and HTML; validates everything before writing."""
    load_spec(args)
    out = check_out_dir(args.out)
    from mrdmft.report import build_report

    with options_named():
        html = build_report(args.model, out, progress=not args.quiet)
    print(f"report written to {html} (notebook: {Path(html).with_suffix('.ipynb')})")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """``mrdmft validate`` (:mod:`mrdmft.cli_validate`): finite networks at several sizes vs the theory."""
    from .cli_validate import run_validate as run

    return run(args)


COMMANDS = {
    "presets": run_presets,
    "derive": run_derive,
    "fixed-points": run_fixed_points,
    "stability": run_stability,
    "stationary": run_stationary,
    "dmft": run_dmft,
    "simulate": run_simulate,
    "report": run_report,
    "validate": run_validate,
}
"""Subcommand name → handler."""
