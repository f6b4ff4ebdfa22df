"""``mrdmft validate``: finite networks at several sizes against the mean-field prediction.

Runs :func:`~mrdmft.solvers.validation.validate_A` (``SEEDS`` sampled networks at every
size), prints the table of measured vs predicted ``A`` (mean ± standard error, ``z``) and,
with two or more sizes, the extrapolation ``A(N) = A_inf + c / N^p`` of
:func:`~mrdmft.solvers.finite_size.extrapolate_to_infinite_size`. ``--out FILE.json``
keeps the whole record (settings, every seed's ``A``); it is written atomically at the
end, so an interrupted run leaves an existing file as it was.
"""

from __future__ import annotations

import argparse
import json
import sys

from .cli_commands import SOLVER_ARGUMENTS, check_out_file, load_spec, options_named, simulation_settle_time
from .cli_output import dump_json

FEW_SEEDS = 5
"""Fewer seeds than this get a note: the standard error is then too uncertain for a sharp 3 SE test."""


def run_validate(args: argparse.Namespace) -> int:
    """``mrdmft validate``: validation table (and N -> infinity extrapolation) of ``A``."""
    spec = load_spec(args)
    out = check_out_file(args.out, ".json") if args.out is not None else None
    t_settle = simulation_settle_time(args)
    import numpy as np

    from mrdmft.solvers.finite_size import check_exponent, extrapolate_to_infinite_size
    from mrdmft.solvers.validation import NoPredictionError, predicted_A, validate_A

    with options_named({"exponent": "--exponent"}):
        check_exponent(args.exponent)  # before any simulation
    try:
        predicted = predicted_A(spec)  # before any simulation: a model without a prediction is a result, exit 1
    except NoPredictionError as exc:
        print(f"error: validate: no mean-field prediction to compare with: {exc.problem} ({exc.fix})", file=sys.stderr)
        return 1

    progress = args.progress if args.progress is not None else (sys.stderr.isatty() and not args.json)
    with options_named({**SOLVER_ARGUMENTS, "sizes": "--sizes", "seeds": "--seeds", "n": "--sizes"}):
        table = validate_A(
            spec,
            args.sizes,
            seeds=args.seeds,
            t_max=args.t_max,
            t_settle=t_settle,
            dt=args.dt,
            progress=bool(progress),
            predicted=predicted,
            dtype=np.float32 if args.float32 else np.float64,
            exact_overlaps=args.exact_overlaps,
        )
    fit = None
    if len(table.sizes) >= 2 and all(np.isfinite(row.stderr_A) for row in table.rows):
        fit = extrapolate_to_infinite_size(table, exponent=args.exponent)
    payload = {
        "model": spec.name,
        "table": table.to_json(),
        "scatter_shrinks": table.scatter_shrinks() if len(table.sizes) >= 2 else None,
        "extrapolation": fit.to_json() if fit is not None else None,
        "out": None,
    }
    if out is not None:
        from mrdmft.solvers.atomic_files import atomic_output

        with atomic_output(out, binary=False) as handle:
            record = {key: value for key, value in payload.items() if key != "out"}
            handle.write(json.dumps(record, indent=1, allow_nan=False) + "\n")
        payload["out"] = str(out)
    if args.json:
        print(dump_json(payload))
    else:
        lines = [table.to_text(), "", f"passes |z| <= 3 at every size: {table.resolution().verdict(table.passes())}"]
        if payload["scatter_shrinks"] is not None:
            lines.append(f"standard error shrinks with N in every region: {payload['scatter_shrinks']}")
        else:
            lines.append("(the scatter trend and the N -> infinity extrapolation need two or more --sizes)")
        if args.seeds < FEW_SEEDS:
            lines.append(
                f"note: with {args.seeds} seeds each standard error rests on {args.seeds - 1} degree(s) of freedom and "
                f"is itself uncertain by tens of per cent, so |z| <= 3 is a loose test; use --seeds {FEW_SEEDS} or more"
            )
        zero = [row.region for row in table.rows if row.predicted_A == 0]
        if zero:
            lines.append(
                f"note: region(s) {', '.join(dict.fromkeys(zero))} are predicted at A = 0; the measured "
                "A = sum U S S >= 0 of a finite network keeps an O(1/N) excess of the size of its scatter, so "
                "|z| > 3 may occur there at any fixed N: judge them by the extrapolation"
            )
        if fit is not None:
            lines += ["", fit.to_text(), "", f"extrapolated A_inf within 3 SE of the prediction: {fit.resolution().verdict(fit.passes())}"]
        if out is not None:
            lines += ["", f"record written to {out}"]
        print("\n".join(lines))
    failed = sum(row.failed for row in table.rows)
    if failed:
        print(f"error: validate: {failed} simulated network(s) became non-finite (try a smaller --dt)", file=sys.stderr)
        return 1
    return 0
