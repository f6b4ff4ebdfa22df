"""The report builder (mrdmft.report), its table helpers and the figure helpers (mrdmft.plots).

Two tests start a Jupyter kernel: one builds the full report of the small preset
``two-regions`` (tiny simulation), one executes a deliberately broken template.
"""

from __future__ import annotations

import math
import re
import sys
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mrdmft import plots, report
from mrdmft.report import ReportExecutionError, build_report
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.modelfile import load_model
from mrdmft.theory.spec import random_model, symmetric_model

# psi(Delta) = (1 + pi Delta / 2)^(-1/2), so psi^{-1}(1/2) = 2 (1 - 1/4) / (pi / 4) = 6 / pi (THEORY §3).
TWO_REGIONS_A = 6.0 / math.pi


def _outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def _text_outputs(nb: nbformat.NotebookNode, marker: str) -> list[str]:
    return [
        out["data"]["text/plain"]
        for out in _outputs(nb)
        if "data" in out and "text/plain" in out["data"] and marker in out["data"]["text/plain"]
    ]


# ----------------------------------------------------------------------------- full build (kernel)
def test_build_report_two_regions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "rep"
    out_dir.mkdir()
    unrelated = out_dir / "notes.txt"
    unrelated.write_text("keep me")
    html_path = build_report("two-regions", out_dir, simulation_n=300, simulation_t_max=40.0, timeout=300)

    assert html_path == out_dir / "report.html"
    assert sorted(p.name for p in out_dir.iterdir()) == ["notes.txt", "report.html", "report.ipynb"]
    assert unrelated.read_text() == "keep me"

    nb = nbformat.read(out_dir / "report.ipynb", as_version=4)
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    assert all(c.execution_count is not None for c in nb.cells if c.cell_type == "code")
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert "model = 'two-regions'" in parameters.source and "simulation_n = 300" in parameters.source
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) >= 3  # spectra, traces, measured vs predicted
    latex = [o["data"]["text/latex"] for o in outputs if "text/latex" in o.get("data", {})]
    assert latex and r"\psi" in latex[0] and r"\dot{S_{AB}}" in latex[0]

    # The numbers in the report are the theory's: two-regions pins A = psi^{-1}(1/b) = 6/pi in both regions.
    fixed_point_text = _text_outputs(nb, "Fixed points of the current equations")[0]
    assert f"{TWO_REGIONS_A:.4g}" in fixed_point_text
    comparison_rows = [re.split(r"\s{2,}", line.strip()) for line in _text_outputs(nb, "√A predicted")[0].splitlines()]
    predicted = {row[0]: row[4] for row in comparison_rows if row[0] in ("A", "B")}
    assert predicted == {"A": f"{math.sqrt(TWO_REGIONS_A):.4g}", "B": f"{math.sqrt(TWO_REGIONS_A):.4g}"}

    html = html_path.read_text()
    assert html.count("data:image/png;base64") >= 3
    assert r"\dot{S_{AB}}" in html and "<table" in html

    progress = capsys.readouterr().err
    n_cells = sum(c.cell_type == "code" for c in nb.cells)
    labels = re.findall(r"^\[(\d+)/(\d+)\] (.+)$", progress, flags=re.M)
    assert [int(k) for k, _, _ in labels] == list(range(1, n_cells + 1))
    assert any("Fixed points" in label for _, _, label in labels)


def _broken_template(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("model = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell("## Broken step"),
        nbformat.v4.new_code_cell("# divide\n1 / 0"),
    ]
    nbformat.write(nb, path)
    return path


def test_failed_cell_names_the_cell_and_keeps_the_old_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out_dir = tmp_path / "rep"
    out_dir.mkdir()
    for name in report.REPORT_FILES:
        (out_dir / name).write_text(f"old {name}")
    template = _broken_template(tmp_path / "broken.ipynb")
    monkeypatch.setattr(report, "template_path", lambda: template)
    with pytest.raises(ReportExecutionError) as info:
        build_report("two-regions", out_dir, progress=False, timeout=120)
    error = info.value
    assert (error.cell_number, error.n_cells) == (2, 2)
    assert error.heading == "Broken step: divide"
    assert error.ename == "ZeroDivisionError"
    assert "[2/2] 'Broken step: divide'" in str(error)
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(report.REPORT_FILES)  # no temporary files left
    for name in report.REPORT_FILES:
        assert (out_dir / name).read_text() == f"old {name}"


def test_kernel_runs_the_current_interpreter(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys, mrdmft.report\nprint(sys.executable)")]
    report.execute_notebook(nb, timeout=120, progress=None, workdir=str(tmp_path))
    assert nb.cells[0].outputs[0]["text"].strip() == sys.executable


# ----------------------------------------------------------------------------- bad input writes nothing
@pytest.mark.parametrize(
    ("model", "kwargs", "field"),
    [
        ("no-such-preset", {}, "model"),
        ("two-regions", {"simulation_n": 0}, "simulation_n"),
        ("two-regions", {"simulation_t_max": -1.0}, "simulation_t_max"),
        ("two-regions", {"seeds": 0}, "seeds"),
        ("two-regions", {"timeout": math.nan}, "timeout"),
    ],
)
def test_invalid_input_raises_before_writing(tmp_path: Path, model: str, kwargs: dict, field: str) -> None:
    out_dir = tmp_path / "rep"
    with pytest.raises(ModelInputError) as info:
        build_report(model, out_dir, progress=False, **kwargs)
    assert info.value.field == field
    assert not out_dir.exists()


def test_invalid_model_file_raises_before_writing(tmp_path: Path, write_model) -> None:
    path = write_model('regions = ["A", "B"]\ng = [-1.0, 0.0]\n[symmetric]\na = [1.0, 1.0]\nb = [2.0, 2.0]\n')
    out_dir = tmp_path / "rep"
    out_dir.mkdir()
    (out_dir / "report.html").write_text("old")
    with pytest.raises(ModelInputError) as info:
        build_report(path, out_dir, progress=False)
    assert info.value.field == "g"
    assert [p.name for p in out_dir.iterdir()] == ["report.html"]
    assert (out_dir / "report.html").read_text() == "old"


def test_out_dir_that_is_a_file_is_rejected(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ModelInputError) as info:
        build_report("two-regions", target, progress=False)
    assert info.value.field == "out_dir"
    assert target.read_text() == "x"


# ----------------------------------------------------------------------------- template and builder pieces
def test_template_has_parameters_cell_and_sections() -> None:
    nb = nbformat.read(report.template_path(), as_version=4)
    nbformat.validate(nb)
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("## ")]
    for number in range(1, 6):
        assert any(h.startswith(f"## {number}.") for h in headings), number
    assert not any(c.outputs for c in nb.cells if c.cell_type == "code")


def test_inject_parameters_and_labels() -> None:
    nb = nbformat.read(report.template_path(), as_version=4)
    report.inject_parameters(nb, {"model": "/abs/m.toml", "simulation_n": 12, "seeds": 2})
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    namespace: dict = {}
    exec(cell.source, namespace)  # the injected source is plain assignments
    assert (namespace["model"], namespace["simulation_n"], namespace["seeds"]) == ("/abs/m.toml", 12, 2)
    labels = report.cell_labels(nb)
    assert sorted(labels) == [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    assert all("$" not in label for label in labels.values())
    with pytest.raises(ValueError):
        report.inject_parameters(nbformat.v4.new_notebook(), {"model": None})


def test_model_argument_resolves_files_only(tmp_path: Path, write_model) -> None:
    path = write_model('regions = ["A"]\n[symmetric]\na = [2.0]\nb = [0.0]\n')
    assert report._model_argument(path) == str(path.resolve())
    assert report._model_argument("two-regions") == "two-regions"
    assert report._model_argument(None) is None


def test_write_atomically_replaces_and_cleans_up(tmp_path: Path) -> None:
    (tmp_path / "report.html").write_text("old")
    report._write_atomically(tmp_path, {"report.html": "new", "report.ipynb": "nb"})
    assert (tmp_path / "report.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.ipynb"]


# ----------------------------------------------------------------------------- tables
def test_loop_strengths_recover_preset_a_b() -> None:
    text = (resources.files("mrdmft.theory") / "presets" / "fig3-1.toml").read_text()
    table = tomllib.loads(text)["symmetric"]
    loops = report.loop_strengths(load_model("fig3-1"))
    assert loops.kind == "symmetric" and loops.note == ""
    np.testing.assert_allclose(loops.a, table["a"], rtol=1e-12)
    np.testing.assert_allclose(loops.b, table["b"], rtol=1e-12)


@given(
    a=st.lists(st.floats(-3, 3), min_size=3, max_size=6),
    b_scale=st.floats(0.2, 4.0),
    data=st.data(),
)
def test_loop_strengths_invert_symmetric_model(a: list[float], b_scale: float, data: st.DataObject) -> None:
    R = len(a)
    b = np.array(data.draw(st.lists(st.floats(0.1, 1.0), min_size=R, max_size=R))) * b_scale
    signs = np.array(data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=R, max_size=R)))
    loops = report.loop_strengths(symmetric_model(a, b, signs=signs))
    assert loops.kind == "symmetric"
    np.testing.assert_allclose(loops.a, a, atol=1e-12)
    np.testing.assert_allclose(loops.b, b, rtol=1e-9)


def test_loop_strengths_two_regions_split_equally() -> None:
    loops = report.loop_strengths(load_model("two-regions"))
    np.testing.assert_allclose(loops.a, [1.2, 1.2])
    np.testing.assert_allclose(loops.b, [2.0, 2.0])
    assert "product" in loops.note


def test_loop_strengths_general_model_gives_T_norms() -> None:
    spec = random_model(3, 2.0, seed=4)
    loops = report.loop_strengths(spec)
    assert loops.kind == "general" and loops.a is None
    np.testing.assert_allclose(loops.matrix, np.sqrt((spec.dense_T() ** 2).sum(axis=2)), rtol=1e-12)


def test_region_table_paper_regime_column() -> None:
    table = report.region_table(load_model("two-regions"))
    assert table.headers[-1].startswith("ψ⁻¹")
    assert [row[-1] for row in table.rows] == [f"{TWO_REGIONS_A:.4g}"] * 2
    general = report.region_table(random_model(2, 1.0, seed=0, g=0.5))
    assert general.headers == ("region", "N_α / N", "g_α")
    assert [row[2] for row in general.rows] == ["0.5", "0.5"]


def test_table_escapes_html_and_formats_numbers() -> None:
    table = report.Table.build(["x<y", "value"], [["<b>", 1234.5678], ["nan", math.nan]], caption="c&d")
    html = table._repr_html_()
    assert "&lt;b&gt;" in html and "x&lt;y" in html and "c&amp;d" in html
    assert table.rows == (("<b>", "1235"), ("nan", "—"))
    with pytest.raises(ValueError):
        report.Table.build(["a"], [[1, 2]])


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0"), (-1.5, "−1.5"), (2 + 0j, "2"), (1 - 2j, "1 − 2i"), (True, "yes"), (7, "7"), (math.inf, "∞"), (None, "—")],
)
def test_format_number(value: object, text: str) -> None:
    assert report.format_number(value) == text


def test_edge_summary_lists_edges() -> None:
    text = report.edge_summary(load_model("two-regions"))
    assert "all 4 ordered region pairs" in text and r'<code class="tex2jax_ignore mathjax_ignore">B\-&gt;A</code>' in text


def test_user_text_cannot_inject_markup_into_the_report() -> None:
    """A shared model file is data: its description, name and region names are shown, never run."""
    from mrdmft.theory.modelfile import model_from_table

    spec = model_from_table({
        "name": "x`<b>y</b>", "description": "a $b$ <script>alert(1)</script> *c* [d](e)\nnext line",
        "regions": ["<i>r</i>", "s`t"], "g": [0.0, 0.0], "random": {"radius": 1.0},
    })
    header = report.model_header(spec, "<img src=x onerror=alert(1)>.toml")
    edges = report.edge_summary(spec)
    for text in (header, edges):
        assert "<script" not in text and "<i>" not in text and "<b>" not in text and "<img" not in text
    assert "&lt;script&gt;" in header and r"\$b\$" in header and r"\*c\*" in header and r"\[d\]\(e\)" in header
    assert "\n" not in header.split("\n\n")[0]  # the description stays on its line
    assert r">x\`&lt;b&gt;y&lt;/b&gt;</code>" in header and r">&lt;i&gt;r&lt;/i&gt;\-&gt;s\`t</code>" in edges
    # Markdown inside the code element is escaped too: **bold** and [x](javascript:...) stay literal
    code = report.markdown_code("**b** [x](javascript:alert(1))")
    assert code == r'<code class="tex2jax_ignore mathjax_ignore">\*\*b\*\* \[x\]\(javascript\:alert\(1\)\)</code>'
    assert report.markdown_text("1.5 $x$") == r'<span class="tex2jax_ignore mathjax_ignore">1\.5 \$x\$</span>'
    assert "tex2jax_ignore" in report.Table.build(["a"], [["$x$"]])._repr_html_()  # MathJax leaves tables alone
    assert plots.plain_text("$^$") == r"\$^\$"


# ----------------------------------------------------------------------------- fixed points, stability
@dataclass
class FakePoint:
    currents: np.ndarray
    variance: np.ndarray
    stable: bool
    max_real_eigenvalue: float
    classification: str = "stable"
    residual: float = 0.0


def test_reference_fixed_point_prefers_stable() -> None:
    unstable = FakePoint(np.zeros(4), np.zeros(2), False, 1.0, "unstable")
    stable = FakePoint(np.ones(4), np.ones(2), True, -0.4)
    assert report.reference_fixed_point([unstable, stable])[0] is stable
    assert report.reference_fixed_point([unstable]) == (None, "no stable fixed point")
    assert report.reference_fixed_point(None) == (None, "no fixed point")


def test_zero_state_summary_names_the_crossing() -> None:
    @dataclass
    class Zero:
        leading_eigenvalue: complex
        zero_state_stable: bool

    assert "limit cycles" in report.zero_state_summary(Zero(1.5 + 0.7j, False))
    assert "creates branches of static nonzero currents (fixed points when g = 0)" in report.zero_state_summary(Zero(2.0 + 0j, False))
    assert "linearly stable" in report.zero_state_summary(Zero(0.5 + 0j, True))


def _two_region_point() -> np.ndarray:
    """Stable fixed point of two-regions: S^AB = S^BA = sqrt(6/pi), no self currents (channels AA, AB, BA, BB)."""
    root = math.sqrt(TWO_REGIONS_A)
    return np.array([0.0, root, root, 0.0])


def test_refine_fixed_point_polishes_onto_the_fixed_point() -> None:
    spec = load_model("two-regions")
    matched = report.refine_fixed_point(spec, 1.1 * _two_region_point() + 0.01)
    assert matched is not None and matched.how == "refined"
    np.testing.assert_allclose(matched.currents, _two_region_point(), atol=1e-8)
    np.testing.assert_allclose(matched.A, [TWO_REGIONS_A] * 2, rtol=1e-9)
    assert matched.max_real_eigenvalue == pytest.approx(-0.4, abs=1e-9)  # 1 - b psi - ... : eigenvalues -0.4, -0.75, -1.25


def test_match_fixed_point_rejects_far_states() -> None:
    spec = load_model("two-regions")
    assert report.match_fixed_point(spec, [], np.array([1e-3, 0.0, 0.0, 0.0])) is None


@dataclass
class FakeRun:
    t: np.ndarray
    currents: np.ndarray


def test_compare_simulation_against_fixed_point() -> None:
    spec = load_model("two-regions")
    t = np.linspace(0.0, 10.0, 11)
    runs = [FakeRun(t, np.tile(factor * _two_region_point(), (t.size, 1))) for factor in (1.1, 0.9)]
    comparison = report.compare_simulation(spec, runs, fixed_points=[], t_settle=5.0)
    np.testing.assert_allclose(comparison.predicted_A, [TWO_REGIONS_A] * 2, rtol=1e-9)
    np.testing.assert_allclose(comparison.measured_A, [TWO_REGIONS_A * (1.21 + 0.81) / 2] * 2, rtol=1e-12)
    np.testing.assert_allclose(comparison.relative_error_A, [0.01, 0.01], rtol=1e-9)
    sem = np.std([1.1, 0.9], ddof=1) / np.sqrt(2) * math.sqrt(TWO_REGIONS_A)
    np.testing.assert_allclose(comparison.measured_root_A_sem, [sem, sem], rtol=1e-12)
    assert "refined" in comparison.source
    assert comparison.table().rows[0][-1] == "+1.0 %"


def test_compare_simulation_falls_back_to_stationary_then_none() -> None:
    spec = load_model("two-regions")
    t = np.linspace(0.0, 10.0, 11)
    runs = [FakeRun(t, np.tile(_two_region_point(), (t.size, 1)))]
    stationary = report.compare_simulation(spec, runs, fixed_points=None, stationary_A=np.array([1.0, 2.0]))
    np.testing.assert_allclose(stationary.predicted_A, [1.0, 2.0])
    assert stationary.predicted_currents is None and "stationary" in stationary.source
    assert stationary.t_settle == 5.0
    none = report.compare_simulation(spec, runs)
    assert none.predicted_A is None and none.relative_error_A is None
    assert none.table().rows[0][4] == "—"


def test_structured_variance_matches_sum_of_squares() -> None:
    spec = load_model("two-regions")  # U = identity: A^A = S_AA^2 + S_AB^2, A^B = S_BA^2 + S_BB^2
    S = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, 0.0, 0.0, -1.0]])
    np.testing.assert_allclose(report.structured_variance(spec, S), [[5.0, 25.0], [0.25, 1.0]])


def test_default_simulation_size_depends_on_disorder() -> None:
    assert report.default_simulation_size(load_model("fig3-1")) == (4000, 150.0)
    assert report.default_simulation_size(load_model("fig3-1-disorder")) == (1000, 100.0)


# ----------------------------------------------------------------------------- figures
def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def test_spectrum_figure_marks_the_stability_lines() -> None:
    fig = plots.spectrum_figure(np.array([2.0, 1.2, -2.0 + 0.5j]), np.array([-0.4, -1.25]))
    left, right = fig.axes
    for ax, x0 in ((left, 1.0), (right, 0.0)):
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
        verticals = [l for l in ax.get_lines() if np.allclose(l.get_xdata(), x0) and len(set(l.get_xdata())) == 1]
        assert verticals, x0
        lo, hi = ax.get_xlim()
        assert lo < x0 < hi
    assert any("Re" in text and "= 1" in text for text in _legend_texts(left))
    offsets = left.collections[0].get_offsets()
    np.testing.assert_allclose(offsets, [[2.0, 0.0], [1.2, 0.0], [-2.0, 0.5]])
    assert len(plots.spectrum_figure([1.5]).axes) == 1


def test_traces_and_comparison_figures_are_labelled() -> None:
    t = np.linspace(0, 10, 5)
    currents = np.ones((5, 4))
    variance = 2 * np.ones((5, 2))
    fig = plots.traces_figure(t, currents, variance, ["A", "B"], [0, 0, 1, 1],
                              predicted_currents=np.ones(4), predicted_A=np.array([2.0, 2.0]))
    for ax in fig.axes:
        assert ax.get_xlabel().startswith("time") and ax.get_ylabel() and ax.get_title()
        assert "region A" in _legend_texts(ax)
    dashed = [l for l in fig.axes[1].get_lines() if l.get_linestyle() == "--"]
    np.testing.assert_allclose([l.get_ydata()[0] for l in dashed], [math.sqrt(2.0)] * 2)

    fig = plots.comparison_figure(["A", "B"], np.array([1.0, 4.0]), np.array([1.21, 3.61]),
                                  predicted_currents=np.ones(4), measured_currents=np.ones(4), channel_target=[0, 0, 1, 1])
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
        assert any("identity" in text for text in _legend_texts(ax))
        assert ax.get_xlim() == ax.get_ylim()
    points = [l for l in fig.axes[0].get_lines() if l.get_marker() == "o"]
    np.testing.assert_allclose(sorted((l.get_xdata()[0], l.get_ydata()[0]) for l in points), [(1.0, 1.1), (2.0, 1.9)])


def test_region_colors_are_distinct() -> None:
    for n in (1, 5, 10, 23):
        colors = plots.region_colors(n)
        assert len(colors) == len(set(colors)) == n
        assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colors)


def test_comparison_warns_when_the_simulated_currents_are_not_stationary() -> None:
    """fig6-r5 (g = 0) settles on a limit cycle: the table must say its time-averaged A is no stationary A."""
    from mrdmft.solvers.fixed_points import find_fixed_points
    from mrdmft.solvers.simulate import simulate_network

    cycling, static = load_model("fig6-r5"), load_model("fig3-1")
    runs = [simulate_network(cycling, 100, 60.0, seed=s) for s in range(2)]
    comparison = report.compare_simulation(cycling, runs, find_fixed_points(cycling).stable_points)
    assert (comparison.non_stationary_runs, comparison.n_runs) == (2, 2)
    assert comparison.table().note.startswith("WARNING: the currents of 2 of 2 runs are NOT stationary")
    runs = [simulate_network(static, 100, 60.0, seed=s) for s in range(2)]
    comparison = report.compare_simulation(static, runs, find_fixed_points(static).stable_points)
    assert comparison.non_stationary_runs == 0 and "WARNING" not in comparison.table().note


def test_region_names_with_dollars_are_drawn_literally() -> None:
    """``$^$`` as a region name was a mathtext syntax error when the legend was drawn."""
    t = np.linspace(0.0, 1.0, 5)
    fig = plots.traces_figure(t, np.ones((5, 2)), np.ones((5, 2)), ["$^$", "x$y"], [0, 1])
    fig.canvas.draw()  # raises ValueError on unescaped mathtext
    legend_texts = {text.get_text() for ax in fig.axes if ax.get_legend() for text in ax.get_legend().get_texts()}
    assert r"region \$^\$" in legend_texts
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_single_disordered_run_is_called_an_illustration() -> None:
    """With g > 0 one network's A scatters by tens of per cent: the table must say one run is no test."""
    t = np.linspace(0.0, 10.0, 11)
    chaotic, quiet = load_model("single-loop"), load_model("two-regions")
    one = [FakeRun(t, np.full((t.size, 1), 0.7))]
    note = report.compare_simulation(chaotic, one, stationary_A=np.array([0.82])).table().note
    assert "One network with disorder" in note and "mrdmft validate" in note
    two = one + [FakeRun(t, np.full((t.size, 1), 0.9))]
    assert "One network" not in report.compare_simulation(chaotic, two, stationary_A=np.array([0.82])).table().note
    runs = [FakeRun(t, np.tile(_two_region_point(), (t.size, 1)))]
    assert "One network" not in report.compare_simulation(quiet, runs, fixed_points=[]).table().note


def test_oscillating_currents_show_both_variances() -> None:
    """Currents flipping sign: A of the time-averaged currents is 0, the time average of A(t) is S^2."""
    spec = load_model("single-loop")
    t = np.linspace(0.0, 10.0, 101)
    flipping = [FakeRun(t, np.where(np.arange(t.size) % 2 == 0, 0.9, -0.9)[:, None])]
    comparison = report.compare_simulation(spec, flipping, stationary_A=np.array([0.81]), t_settle=0.0)
    np.testing.assert_allclose(comparison.time_averaged_A, [0.81], rtol=1e-12)
    assert comparison.measured_A[0] == pytest.approx(0.81 / 101**2, rel=1e-9)  # one unpaired sample of 101
    row = comparison.table().rows[0]
    assert float(row[3]) == pytest.approx(0.9, rel=1e-3) and float(row[1]) == pytest.approx(0.9 / 101, rel=1e-3)


def test_neuron_counts_label() -> None:
    assert report.neuron_counts(("A", "B"), [4000, 4000]) == "N = 4000 per region"
    assert report.neuron_counts(("A", "B"), np.array([600, 180])) == "N_α = A 600, B 180"
