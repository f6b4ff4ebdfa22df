"""Output helpers of the ``mrdmft`` command line: JSON and aligned text tables.

Every computing command builds one JSON-compatible payload (the contract documented
in README.md) and renders it either with :func:`dump_json` (``--json``) or as aligned
text tables with :func:`format_table` / :func:`format_currents`. Rendering the human
output from the same payload keeps both outputs consistent.

Only the standard library is imported (numpy values are recognized by their
``tolist`` method), so that the CLI starts fast.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MISSING = "-"
"""How a missing or non-finite value is printed in a table."""


def to_plain(value: Any) -> Any:
    """Convert a payload to plain JSON types.

    numpy scalars and arrays become Python numbers and lists, complex numbers become
    ``[re, im]``, tuples become lists, and non-finite floats become ``None`` (JSON
    ``null``) so that the output is always strict JSON (``NaN`` is not JSON).

    Parameters
    ----------
    value : Any
        A nested structure of mappings, sequences, numbers, strings, booleans.

    Returns
    -------
    Any
        The same structure made of ``dict``, ``list``, ``str``, ``int``, ``float``,
        ``bool`` and ``None`` only.
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    if hasattr(value, "tolist") and not isinstance(value, (int, float, complex)):
        return to_plain(value.tolist())  # numpy arrays and numpy scalars
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, int):
        return int(value)
    if isinstance(value, complex):
        return [to_plain(value.real), to_plain(value.imag)]
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Iterable):
        return [to_plain(item) for item in value]
    return str(value)


def as_payload(result_json: Any) -> dict:
    """A solver's ``to_json()`` output as a new dict (it may be a dict or JSON text)."""
    if isinstance(result_json, (str, bytes)):
        return json.loads(result_json)
    return dict(result_json)


def dump_json(payload: Any) -> str:
    """Strict JSON text (two-space indent, keys in insertion order) of a payload."""
    if isinstance(payload, (str, bytes)):
        payload = json.loads(payload)
    return json.dumps(to_plain(payload), indent=2, allow_nan=False)


def format_number(value: Any, digits: int = 6) -> str:
    """Format a number with ``digits`` significant digits; ``-`` for None/NaN/inf."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return format_complex(value[0], value[1], digits)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return MISSING
    if number == 0:
        return "0"
    return f"{number:.{digits}g}"


def format_complex(re: Any, im: Any, digits: int = 6) -> str:
    """``re + im i`` (or ``re - |im| i``) with ``digits`` significant digits."""
    if re is None or im is None:
        return MISSING
    sign = "-" if float(im) < 0 else "+"
    return f"{format_number(re, digits)} {sign} {format_number(abs(float(im)), digits)}i"


def _is_numeric_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def format_table(header: Sequence[str], rows: Iterable[Sequence[Any]], indent: str = "", labels: int = 1) -> str:
    """Aligned plain-text table.

    The first ``labels`` columns (names such as regions, edges, indices) are
    left-aligned; in the other columns numbers (cells that parse as floats) are
    right-aligned and text is left-aligned. Non-string cells are formatted with
    :func:`format_number`.

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : iterable of sequences
        One sequence per row, as long as ``header``.
    indent : str
        Prefix of every line.
    labels : int
        Number of leading label columns.

    Returns
    -------
    str
        The table, header line first, then a dashed rule, then the rows.
    """
    cells = [[c if isinstance(c, str) else format_number(c) for c in row] for row in rows]
    columns = list(zip(*([list(header)] + cells))) if cells else [[h] for h in header]
    widths = [max(len(c) for c in column) for column in columns]
    numeric = [
        j >= labels and any(_is_numeric_text(c) for c in column[1:]) and all(_is_numeric_text(c) or c == MISSING for c in column[1:])
        for j, column in enumerate(columns)
    ]

    def line(row: Sequence[str], is_header: bool = False) -> str:
        parts = []
        for j, (text, width) in enumerate(zip(row, widths)):
            right = numeric[j] if is_header else j >= labels and _is_numeric_text(text)
            parts.append(text.rjust(width) if right else text.ljust(width))
        return (indent + "  ".join(parts)).rstrip()

    out = [line(header, is_header=True), indent + "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    return "\n".join(out)


def format_currents(
    currents: Mapping[str, Any], regions: Sequence[str], dense: bool, indent: str = "  "
) -> str:
    """Currents as a table.

    For a dense model (every ordered pair of regions, rank one) an R x R matrix whose
    row alpha, column beta is ``S^{alpha beta}``, the current from region beta (source)
    into region alpha (target), JSON key ``"beta->alpha"``. Otherwise one row per
    channel, by edge name.

    Parameters
    ----------
    currents : Mapping[str, float]
        Current per channel name (``"SOURCE->TARGET"`` or ``"SOURCE->TARGET:d"``).
    regions : sequence of str
        Region names, in model order.
    dense : bool
        Whether the model is in the paper's dense form.
    indent : str
        Prefix of every line.
    """
    currents = chop(currents)
    if dense and all(f"{s}->{t}" in currents for t in regions for s in regions):
        header = ["target \\ source"] + list(regions)
        rows = [[t] + [currents[f"{s}->{t}"] for s in regions] for t in regions]
        return format_table(header, rows, indent)
    return format_table(["edge", "S"], [[name, value] for name, value in currents.items()], indent)


def chop(values: Mapping[str, Any], tol: float = 1e-12) -> dict[str, Any]:
    """Replace entries smaller than ``tol`` times the largest magnitude by 0 (display only).

    Rounding noise such as ``3e-17`` next to currents of order one is printed as ``0``;
    the JSON output keeps the exact values.
    """
    numbers = [abs(float(v)) for v in values.values() if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    scale = max(numbers, default=0.0)
    return {
        key: 0.0 if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= tol * scale else v
        for key, v in values.items()
    }


def region_rows(regions: Sequence[str], columns: Mapping[str, Mapping[str, Any] | Sequence[Any]]) -> list[list[Any]]:
    """Rows ``[region, col1[region], col2[region], ...]`` from per-region columns.

    Each column is a mapping region -> value or a sequence in region order; a
    missing entry becomes ``None`` (printed ``-``).
    """
    rows = []
    for i, region in enumerate(regions):
        row: list[Any] = [region]
        for column in columns.values():
            if isinstance(column, Mapping):
                row.append(column.get(region))
            else:
                row.append(column[i] if i < len(column) else None)
        rows.append(row)
    return rows
