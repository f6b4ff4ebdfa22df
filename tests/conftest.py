"""Shared test fixtures and settings.

* ``paper_cases``: the reference numbers (tests/data/paper_cases.json, the repo's copy).
* ``write_model``: write a TOML model file into the test's temporary folder.
* Hypothesis runs without per-example deadlines (the first call of a sympy function
  can be slow for reasons unrelated to the code under test); the profile can be
  overridden with ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("mrdmft", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "mrdmft"))

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def paper_cases() -> dict:
    """The reference values of tests/data/paper_cases.json."""
    return json.loads((DATA / "paper_cases.json").read_text())


@pytest.fixture
def write_model(tmp_path: Path) -> Callable[[str, str], Path]:
    """Return ``write(text, name="model.toml") -> Path`` writing a model file in tmp_path."""

    def write(text: str, name: str = "model.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
