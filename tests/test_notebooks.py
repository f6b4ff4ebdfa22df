"""Execute the paper-reproduction notebooks top to bottom.

Each notebook's first code cell chooses reduced sizes unless ``MRDMFT_FULL=1``; the
default tests run the reduced size (< 90 s each on the development machine), the
``slow`` tests the full size. The kernel runs the current interpreter through
:func:`mrdmft.report.execute_notebook` (the report builder's helper), in a temporary
directory. The notebooks check their own numbers (``assert`` cells: theory routes
agree, sweeps consistent with the transition values); here we assert that no cell
failed, that the expected figures were produced, and that the committed notebooks
carry no outputs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from mrdmft.report import execute_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# notebook -> minimum number of figures (image/png outputs) it must produce
EXPECTED_FIGURES = {
    "fig3_symmetric_loops.ipynb": 6,  # one activity figure per example, the summary scatter, the 1/N extrapolation, the stored record
    "fig4_chaos_vs_currents.ipynb": 4,  # sqrt(A) vs g and Delta(tau), each without and with simulations
}


def _run(name: str, tmp_path: Path, cell_timeout: float = 1800) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    execute_notebook(nb, timeout=cell_timeout, progress=None, workdir=str(tmp_path))
    return nb


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def _check(nb: nbformat.NotebookNode, name: str) -> None:
    outputs = _outputs(nb)
    errors = [out for out in outputs if out.get("output_type") == "error"]
    assert not errors, errors
    figures = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(figures) >= EXPECTED_FIGURES[name], f"{name}: {len(figures)} figures"
    stderr = "".join(out.get("text", "") for out in outputs if out.get("name") == "stderr")
    assert "Traceback" not in stderr and "RuntimeWarning" not in stderr, stderr


@pytest.mark.parametrize("name", sorted(EXPECTED_FIGURES))
def test_notebook_is_committed_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    first = code[0]
    assert "parameters" in first.metadata.get("tags", [])
    assert 'FULL = os.environ.get("MRDMFT_FULL") == "1"' in first.source


@pytest.mark.parametrize("name", sorted(EXPECTED_FIGURES))
def test_notebook_runs_at_reduced_size(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MRDMFT_FULL", raising=False)
    _check(_run(name, tmp_path), name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED_FIGURES))
def test_notebook_runs_at_full_size(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MRDMFT_FULL", "1")
    _check(_run(name, tmp_path, cell_timeout=4 * 3600), name)  # Fig. 3 simulates ~1.5 h on 2 cores


def test_figure_helpers_label_everything() -> None:
    """The helpers the notebooks use put symbols on the axes, a title and a legend on every panel."""
    import numpy as np

    from mrdmft import plots
    from mrdmft.solvers.finite_size import extrapolate_to_infinite_size
    from mrdmft.solvers.validation import table_from_measurements

    table = table_from_measurements("m", ["1", "2"], {n: [np.array([1 + 100 / n, 0.5]), np.array([1.1 + 100 / n, 0.6])]
                                                      for n in (1000, 2000, 4000)}, np.array([1.05, 0.55]))
    g = np.linspace(0.0, 3.0, 7)
    phase = np.array([["static"] * 3 + ["chaos+currents"] * 2 + ["chaos"] * 2])
    A = np.array([[2.0, 1.8, 1.5, 0.6, 0.2, 0.0, 0.0]])
    figures = [
        plots.stationary_phase_figure(g, [2.5], A, phase, np.array([[1.84, 2.41]]), simulated={2.5: ([1.5], [1.3], [0.1])}),
        plots.autocorrelation_figure(np.arange(5.0), np.ones((2, 5)), ["a", "b"], dmft=(np.arange(5.0), np.ones((2, 5))),
                                     simulated=(np.arange(3.0), np.ones((2, 3)), np.full((2, 3), 0.1)), asymptotes=[1.0, 0.5]),
        plots.activity_figure(
            [plots.ActivityRow("row", np.arange(4.0), np.zeros((4, 2, 3)), np.zeros((4, 4)), [0, 0, 1, 1],
                               np.array([1.0, 2.0]), np.array([1.1, 1.4]), np.array([0.1, 0.1]))],
            ["1", "2"],
        ),
        plots.root_A_scatter_figure([("m", np.array([1.0, 2.0]), np.array([1.1, 1.4]), np.array([0.1, 0.2]))]),
        plots.finite_size_figure([("m", table, extrapolate_to_infinite_size(table))]),
    ]
    for fig in figures:
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
        assert any(ax.get_legend() is not None for ax in fig.axes)
    solid, dashed = figures[0].axes[0].lines[0], figures[0].axes[0].lines[1]
    assert solid.get_linestyle() == "-" and dashed.get_linestyle() == "--"  # static, then chaos+currents segment
