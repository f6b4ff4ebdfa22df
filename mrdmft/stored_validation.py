"""Full-size validation records shipped with mrdmft (measured once, read by the Fig. 3 notebook).

Simulating the paper's 5-region examples with disorder at 1000–8000 neurons per region
takes about an hour per model on a 2-core machine, too long for a notebook that must run
in the test suite. The records of those runs (the JSON written by
``mrdmft validate MODEL --out FILE.json``: every seed's measured ``A`` per region and size,
the settings) are package data in ``mrdmft/data/validation/``; this module loads them as
:class:`~mrdmft.solvers.validation.ValidationTable` objects, whose means, standard errors
and ``z`` are recomputed from the stored samples.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from mrdmft.solvers.validation import ValidationTable
from mrdmft.theory.errors import ModelInputError

__all__ = ["stored_validation_names", "load_stored_validation", "stored_validation_settings"]

_FOLDER = ("data", "validation")


def _folder() -> Any:
    return resources.files("mrdmft").joinpath(*_FOLDER)


def stored_validation_names() -> list[str]:
    """Model names with a stored full-size validation record, sorted."""
    return sorted(item.name.removesuffix(".json") for item in _folder().iterdir() if item.name.endswith(".json"))


def _record(model: str) -> dict[str, Any]:
    names = stored_validation_names()
    if model not in names:
        raise ModelInputError("model", f"no stored validation record for {model!r}", f"choose one of {', '.join(names)}")
    return json.loads(_folder().joinpath(f"{model}.json").read_text(encoding="utf-8"))


def load_stored_validation(model: str) -> ValidationTable:
    """The stored full-size validation table of ``model``.

    Parameters
    ----------
    model : str
        A name from :func:`stored_validation_names` (e.g. ``"fig3-2-disorder"``).

    Returns
    -------
    ValidationTable
        Rebuilt with :meth:`ValidationTable.from_json` (statistics recomputed from the
        per-seed samples).

    Raises
    ------
    ModelInputError
        No record for that name.
    """
    return ValidationTable.from_json(_record(model)["table"])


def stored_validation_settings(model: str) -> dict[str, str]:
    """How the record of ``model`` was measured: ``t_max``, ``t_settle``, ``dt``, dtype, sampling, sizes, seeds, command."""
    record = _record(model)
    table = record["table"]
    settings = {str(k): str(v) for k, v in table.get("settings", {}).items()}
    settings["t_settle"] = str(table.get("t_settle"))
    settings.update({str(k): str(v) for k, v in record.get("provenance", {}).items()})
    return settings
