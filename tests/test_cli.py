"""The ``mrdmft`` command line (mrdmft/cli*.py), README quickstart and .ci/run.

Most checks call :func:`mrdmft.cli.main` in-process (fast); a few run
``python -m mrdmft`` in a subprocess to check the real exit status and stderr.
Every user error must exit with status 2, print exactly one line on stderr of the
form ``error: <field>: <problem> (<fix>)`` and leave the disk untouched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mrdmft
from mrdmft.cli import main
from mrdmft.cli_output import chop, dump_json, format_table, to_plain
from mrdmft.cli_parser import DEFAULT_MODEL_NAME, build_parser
from mrdmft.theory.modelfile import DEFAULT_MODEL, load_model, preset_names

ROOT = Path(__file__).resolve().parents[1]
ERROR_LINE = re.compile(r"^error: [^:]+: .+ \(.+\)$")
COMMANDS = ["presets", "derive", "fixed-points", "stability", "stationary", "dmft", "simulate", "validate", "report"]


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_subprocess(argv: list[str], cwd: Path, env: dict | None = None, python_args: tuple = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *python_args, "-m", "mrdmft", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>" for p in sorted(folder.rglob("*"))}


def assert_one_line_error(status: int, err: str, field: str | None = None) -> str:
    assert status == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert ERROR_LINE.match(lines[0]), lines[0]
    assert "Traceback" not in err
    if field is not None:
        assert lines[0].startswith(f"error: {field}: "), lines[0]
    return lines[0]


# ---------------------------------------------------------------------- bad model files
VALID_HEAD = 'regions = ["A"]\ng = [0.0]\n'
BAD_MODELS = {
    "invalid-toml": ('regions = ["A"\n', None),
    "T-wrong-shape": ('regions = ["A", "B"]\ng = [0.0, 0.0]\nT = [[[1.0, 0.0]], [[0.0, 1.0]]]\n', "T"),
    "negative-g": ('regions = ["A"]\ng = [-0.5]\nT = [[[2.0]]]\n', "g"),
    "nan-g": ('regions = ["A"]\ng = [nan]\nT = [[[2.0]]]\n', "g"),
    "non-numeric-bool": (VALID_HEAD + "T = [[[true]]]\n", "T"),
    "non-numeric-string": ('regions = ["A"]\ng = ["fast"]\nT = [[[2.0]]]\n', "g"),
    "non-numeric-table": ('regions = ["A"]\ng = [{x = 1}]\nT = [[[2.0]]]\n', "g"),
}
WHITELIST = [
    "__import__('os')",
    "os.system('x')",
    "b.__class__",
    "lambda: 1",
    "(lambda: 1)()",
    "b.real",
    "b[0]",
    "[b][0]",
    "open('/etc/passwd')",
    "2**1000",
    "b**99",
    "9**9**9",
    "exp(exp(exp(1000)))",
    "(10**64)**64",
    "log(0)",
]


def expression_model(expression: str) -> str:
    quoted = json.dumps(expression)  # a TOML basic string
    return f'regions = ["A"]\ng = [0.0]\nT = [[[{quoted}]]]\n[parameters]\nb = 2.0\n'


def error_commands(model: str) -> list[list[str]]:
    """Commands that would write to disk if they ran: each must refuse the model first."""
    return [
        ["dmft", model, "--t-max", "2", "--dt", "0.1", "--out", "previous.npz"],
        ["report", model, "--out", "report-dir"],
        ["simulate", model, "--n", "50", "--t-max", "2"],
        ["validate", model, "--sizes", "20,40", "--seeds", "2", "--t-max", "2", "--out", "record.json"],
    ]


def check_refused(argv: list[str], tmp_path: Path, capsys, field: str | None) -> str:
    before = snapshot(tmp_path)
    status, out, err = run(argv, capsys)
    line = assert_one_line_error(status, err, field)
    assert out == ""
    assert snapshot(tmp_path) == before  # nothing created, nothing overwritten
    return line


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "previous.npz").write_bytes(b"an earlier result that must survive")
    return tmp_path


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
@pytest.mark.parametrize("command", range(4))
def test_bad_model_file_is_one_line_exit_2_and_writes_nothing(workdir: Path, capsys, case: str, command: int) -> None:
    text, field = BAD_MODELS[case]
    (workdir / "model.toml").write_text(text)
    line = check_refused(error_commands("model.toml")[command], workdir, capsys, field or "model.toml")
    if case == "invalid-toml":
        assert "invalid TOML" in line


@pytest.mark.parametrize("expression", WHITELIST)
def test_expression_outside_the_whitelist_is_refused(workdir: Path, capsys, expression: str) -> None:
    (workdir / "model.toml").write_text(expression_model(expression))
    line = check_refused(error_commands("model.toml")[0], workdir, capsys, "T")
    assert len(line) < 500


def test_missing_file_and_unknown_preset(workdir: Path, capsys) -> None:
    for argv in error_commands("missing.toml"):
        line = check_refused(argv, workdir, capsys, "missing.toml")
        assert "no such file" in line
    for argv in error_commands("fig99"):
        line = check_refused(argv, workdir, capsys, "model")
        assert "mrdmft presets" in line
    line = check_refused(["derive", "sub/dir/model.toml"], workdir, capsys, "sub/dir/model.toml")


def test_simulate_refuses_a_model_whose_U_is_not_psd(workdir: Path, capsys) -> None:
    text = 'regions = ["A", "B"]\ng = [0, 0]\nU = [[[1, 2], [2, 1]], [[1, 0], [0, 1]]]\n[symmetric]\na = [1.2, 1.2]\nb = [2.0, 2.0]\n'
    (workdir / "model.toml").write_text(text)
    line = check_refused(["simulate", "model.toml", "--n", "100", "--t-max", "5"], workdir, capsys, "U")
    assert "positive semidefinite" in line


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["dmft", "single-loop", "--t-max", "-1", "--out", "previous.npz"], "--t-max"),
        (["dmft", "single-loop", "--t-max", "nan"], "--t-max"),
        (["dmft", "single-loop", "--t-max", "abc"], "--t-max"),
        (["dmft", "single-loop", "--t-max", "1", "--dt", "0"], "--dt"),
        (["dmft", "single-loop", "--t-max", "1", "--dt", "2"], "--dt"),
        (["dmft", "single-loop", "--t-max", "1", "--window", "0"], "--window"),
        (["dmft", "single-loop", "--t-max", "1", "--out", "run.txt"], "--out"),
        (["dmft", "single-loop", "--t-max", "1", "--out", "no/such/folder/run.npz"], "--out"),
        (["dmft", "single-loop"], "--t-max"),
        (["simulate", "two-regions", "--t-max", "5"], "--n"),
        (["simulate", "two-regions", "--n", "0", "--t-max", "5"], "--n"),
        (["simulate", "two-regions", "--n", "1.5", "--t-max", "5"], "--n"),
        (["simulate", "two-regions", "--n", "1", "--t-max", "5"], "--n"),
        (["derive", ""], "model"),
        (["validate", "single-loop", "--sizes", "100,,", "--t-max", "5"], "--sizes"),
        (["validate", "single-loop", "--sizes", "5000000", "--t-max", "5"], "--sizes"),
        (["report", "two-regions", "--out", ""], "--out"),
        (["dmft", "single-loop", "--t-max", "1", "--out", ""], "--out"),
        (["simulate", "two-regions", "--n", "10", "--t-max", "100", "--dt", "1e-7"], "--t-max"),
        (["validate", "single-loop", "--sizes", "50,100", "--t-max", "100", "--dt", "1e-7"], "--t-max"),
        (["simulate", "two-regions", "--n", "10", "--t-max", "5", "--seed", "-1"], "--seed"),
        (["simulate", "two-regions", "--n", "10", "--t-max", "5", "--t-settle", "9"], "--t-settle"),
        (["simulate", "single-loop", "--n", "100", "--t-max", "10", "--dt", "0.9", "--t-settle", "9.95"], "--t-settle"),
        (["validate", "single-loop", "--sizes", "50,100", "--t-max", "10", "--dt", "0.9", "--t-settle", "9.95"], "--t-settle"),
        (["validate", "single-loop", "--t-max", "5"], "--sizes"),
        (["validate", "single-loop", "--sizes", "1,100", "--t-max", "5"], "--sizes"),
        (["validate", "single-loop", "--sizes", "100,abc", "--t-max", "5"], "--sizes"),
        (["validate", "single-loop", "--sizes", "100,100", "--t-max", "5"], "--sizes"),
        (["validate", "single-loop", "--sizes", ",", "--t-max", "5"], "--sizes"),
        (["validate", "single-loop", "--sizes", "100", "--seeds", "1", "--t-max", "5"], "--seeds"),
        (["validate", "single-loop", "--sizes", "100", "--t-max", "5", "--t-settle", "5"], "--t-settle"),
        (["validate", "single-loop", "--sizes", "100", "--t-max", "5", "--exponent", "0"], "--exponent"),
        (["validate", "single-loop", "--sizes", "100", "--t-max", "5", "--out", "previous.npz"], "--out"),
        (["validate", "single-loop", "--sizes", "50,100", "--t-max", "5", "--exponent", "100"], "--exponent"),
        (["validate", "single-loop", "--sizes", "50,100", "--t-max", "5", "--exponent", "1e-10"], "--exponent"),
        (["fixed-points", "two-regions", "--starts", "0"], "--starts"),
        (["derive", "two-regions", "--format", "pdf"], "--format"),
        (["report", "two-regions", "--out", "previous.npz"], "--out"),
        (["presets", "--colour"], "arguments"),
        (["frobnicate"], "COMMAND"),
        ([], "COMMAND"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(workdir: Path, capsys, argv: list[str], field: str) -> None:
    check_refused(argv, workdir, capsys, field)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs the Linux /proc pseudo file system")
@pytest.mark.parametrize(
    "argv",
    [
        ["dmft", "single-loop", "--t-max", "1", "--out", "/proc/run.npz"],
        ["validate", "single-loop", "--sizes", "50,100", "--t-max", "5", "--out", "/proc/run.json"],
        ["report", "two-regions", "--out", "/proc/report"],
    ],
)
def test_unwritable_out_is_refused_before_computing(workdir: Path, capsys, argv: list[str]) -> None:
    """/proc exists but takes no new files: refused up front, not after the run."""
    line = check_refused(argv, workdir, capsys, "--out")
    assert "cannot create files in folder /proc" in line


def test_validate_without_a_prediction_is_a_result_exit_1(workdir: Path, capsys) -> None:
    """fig6-r5 has no stable fixed point (limit cycle): a valid model whose theory gives no single A."""
    before = snapshot(workdir)
    status, out, err = run(["validate", "fig6-r5", "--sizes", "100,200", "--t-max", "5", "--out", "run.json"], capsys)
    assert status == 1 and out == ""
    assert err.startswith("error: validate: no mean-field prediction to compare with: ") and len(err.splitlines()) == 1
    assert snapshot(workdir) == before


def test_errors_from_a_real_process(tmp_path: Path) -> None:
    (tmp_path / "model.toml").write_text(expression_model("__import__('os').system('touch pwned')"))
    for argv, field in [
        (["dmft", "model.toml", "--t-max", "1", "--out", "run.npz"], "T"),
        (["derive", "nowhere.toml"], "nowhere.toml"),
        (["simulate", "--n", "-3", "--t-max", "1"], "--n"),
    ]:
        before = snapshot(tmp_path)
        proc = run_subprocess(argv, tmp_path)
        assert_one_line_error(proc.returncode, proc.stderr, field)
        assert proc.stdout == ""
        assert snapshot(tmp_path) == before
    assert not (tmp_path / "pwned").exists()


# ---------------------------------------------------------------------- internal errors
def test_internal_error_is_one_line_exit_1(monkeypatch, capsys) -> None:
    import mrdmft.cli_commands as commands

    def boom(args):
        raise RuntimeError("something\nbroke")

    monkeypatch.setitem(commands.COMMANDS, "presets", boom)
    status, out, err = run(["presets"], capsys)
    assert status == 1
    assert err.splitlines() == [
        "error: internal: RuntimeError: something broke (please report this; rerun with --debug for the traceback)"
    ]
    status, out, err = run(["--debug", "presets"], capsys)
    assert status == 1 and "Traceback" in err and err.splitlines()[-1].startswith("error: internal: RuntimeError")
    status, out, err = run(["presets", "--debug"], capsys)
    assert status == 1 and "Traceback" in err


# ---------------------------------------------------------------------- help, version, presets, derive
def test_version_and_help(capsys) -> None:
    status, out, _ = run(["--version"], capsys)
    assert status == 0 and out.strip() == f"mrdmft {mrdmft.__version__}"
    status, out, _ = run(["--help"], capsys)
    assert status == 0
    for command in COMMANDS:
        assert command in out
    assert "exit status" in out and "--json" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_helpful_help(capsys, command: str) -> None:
    status, out, _ = run([command, "--help"], capsys)
    assert status == 0
    text = " ".join(out.split())
    if command != "presets":
        assert "MODEL" in text and "mrdmft presets" in text and "model file" in text
    if command not in ("report",):
        assert "--json" in text
    if command in ("fixed-points", "stability", "stationary", "dmft", "simulate"):
        assert "keys:" in text


def test_parser_default_model_is_the_library_default() -> None:
    assert DEFAULT_MODEL_NAME == DEFAULT_MODEL
    args = build_parser().parse_args(["stability"])
    assert args.model is None  # load_model(None) -> DEFAULT_MODEL


def test_presets_lists_every_preset_one_line_each(capsys) -> None:
    status, out, err = run(["presets"], capsys)
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == preset_names()
    assert all(len(line.split()) > 1 for line in lines)  # name + description
    assert sum("[default]" in line for line in lines) == 1
    status, out, _ = run(["presets", "--json"], capsys)
    payload = json.loads(out)
    assert payload["default"] == DEFAULT_MODEL
    assert [p["name"] for p in payload["presets"]] == preset_names()


def test_derive_formats(capsys) -> None:
    status, text, _ = run(["derive", "two-regions"], capsys)
    assert status == 0
    assert "dS_{AB}/dt" in text and "Delta_A" in text and "Psi L" in text
    status, latex, _ = run(["derive", "two-regions", "--format", "latex"], capsys)
    assert status == 0 and latex.startswith("\\begin{aligned}") and latex.rstrip().endswith("\\end{aligned}")
    status, out, _ = run(["derive", "two-regions", "--json"], capsys)
    payload = json.loads(out)
    assert status == 0
    assert payload["channels"] == ["A->A", "B->A", "A->B", "B->B"]
    assert {"model", "regions", "channels", "gain", "variance", "currents", "operator"} <= set(payload)
    _, again, _ = run(["derive", "two-regions", "--format", "json"], capsys)
    assert json.loads(again) == payload


# ---------------------------------------------------------------------- computing commands
def json_of(argv: list[str], capsys) -> dict:
    status, out, err = run(argv + ["--json"], capsys)
    assert status == 0, err
    return json.loads(out)


def test_fixed_points_command(capsys) -> None:
    pytest.importorskip("mrdmft.solvers.fixed_points")
    payload = json_of(["fixed-points", "two-regions", "--starts", "40", "--seed", "1"], capsys)
    assert payload["model"] == "two-regions"
    points = payload["fixed_points"]
    assert points and all({"currents", "A", "gain", "stable", "max_real_eigenvalue"} <= set(p) for p in points)
    stable = [p["stable"] for p in points]
    assert stable == sorted(stable, reverse=True)  # stable ones first
    first = points[0]
    assert first["stable"] and set(first["currents"]) == {"A->A", "B->A", "A->B", "B->B"}
    # the reciprocal A<->B loop (b = 2 > a = 1.2) pins psi = 1/b in both regions: A = psi^{-1}(1/2) = 6/pi
    assert first["gain"]["A"] == pytest.approx(0.5, abs=1e-8)
    assert first["A"]["A"] == pytest.approx(6 / np.pi, abs=1e-8)
    status, text, _ = run(["fixed-points", "two-regions", "--starts", "40", "--seed", "1", "--show", "1"], capsys)
    assert status == 0 and "target \\ source" in text and "A[A]" in text and "stable" in text


def test_fixed_points_refuses_disorder(capsys) -> None:
    pytest.importorskip("mrdmft.solvers.fixed_points")
    status, _, err = run(["fixed-points", "single-loop"], capsys)
    assert "stationary" in assert_one_line_error(status, err, "g")


def test_stability_command(capsys, paper_cases) -> None:
    pytest.importorskip("mrdmft.solvers.stability")
    payload = json_of(["stability", "fig6-r3"], capsys)
    assert {"gain", "operator_eigenvalues", "leading_eigenvalue", "zero_state_stable"} <= set(payload)
    T3 = np.array(paper_cases["random_interaction_examples"]["fig6_fp_to_limit_cycle_without_chaos"]["T"])
    R = 3
    L = np.zeros((R * R, R * R))
    for a in range(R):
        for b in range(R):
            L[a * R + b, b * R : (b + 1) * R] = T3[a, b]
    expected = np.linalg.eigvals(L)  # g = 0: psi = 1
    got = np.array([complex(re, im) for re, im in payload["operator_eigenvalues"]])
    assert np.sort_complex(got) == pytest.approx(np.sort_complex(expected), abs=1e-10)
    assert payload["leading_eigenvalue"][0] == pytest.approx(expected.real.max(), abs=1e-10)
    assert payload["zero_state_stable"] is bool(expected.real.max() <= 1)
    status, text, _ = run(["stability", "fig6-r3"], capsys)
    assert status == 0 and ("UNSTABLE" in text) == (not payload["zero_state_stable"])
    # without MODEL: the built-in default model (5 regions, 25 eigenvalues)
    default = json_of(["stability"], capsys)
    assert default["model"] == DEFAULT_MODEL and len(default["operator_eigenvalues"]) == 25


def test_stationary_command(capsys) -> None:
    pytest.importorskip("mrdmft.solvers.stationary")
    payload = json_of(["stationary", "fig3-1-disorder"], capsys)
    assert list(payload["regions"]) == ["1", "2", "3", "4", "5"]
    for entry in payload["regions"].values():
        assert {"phase", "Delta0", "Delta_inf", "A", "g_chaos_onset", "g_currents_vanish"} <= set(entry)
        assert entry["phase"] in ("static", "chaos+currents", "chaos")
        assert 0 <= entry["Delta_inf"] <= entry["Delta0"] + 1e-12
        assert entry["g_chaos_onset"] < entry["g_currents_vanish"]
    status, text, _ = run(["stationary", "fig3-1-disorder"], capsys)
    assert status == 0 and "g_currents_vanish" in text


def test_dmft_command_writes_its_arrays_only_on_success(workdir: Path, capsys) -> None:
    pytest.importorskip("mrdmft.solvers.dmft")
    payload = json_of(["dmft", "single-loop", "--t-max", "4", "--dt", "0.1", "--out", "run.npz"], capsys)
    assert {"t_final", "currents_final", "gain_final", "Delta_equal_time_final"} <= set(payload)
    assert payload["t_final"] == pytest.approx(4.0)
    assert set(payload["currents_final"]) == {"A->A"}
    with np.load(workdir / "run.npz") as saved:
        assert saved["currents"].shape[-1] == 1
    # an existing file is replaced only by a successful run; a refused run leaves it alone
    before = (workdir / "run.npz").read_bytes()
    check_refused(["dmft", "single-loop", "--t-max", "4", "--dt", "-0.1", "--out", "run.npz"], workdir, capsys, "--dt")
    assert (workdir / "run.npz").read_bytes() == before
    status, text, _ = run(["dmft", "single-loop", "--t-max", "2", "--dt", "0.1"], capsys)
    assert status == 0 and "Delta(t,t)" in text


def test_solver_input_errors_name_the_command_line_option(workdir: Path, capsys) -> None:
    pytest.importorskip("mrdmft.solvers.dmft")
    # dmft needs 0 < dt < 1 and refuses runs that need more memory than available, before allocating
    line = check_refused(["dmft", "single-loop", "--t-max", "10", "--dt", "1.0", "--out", "previous.npz"], workdir, capsys, "--dt")
    assert "0 < dt < 1" in line or "(0, 1)" in line
    line = check_refused(["dmft", "fig3-1", "--t-max", "100000", "--dt", "0.01", "--out", "big.npz"], workdir, capsys, "--t-max")
    assert "window" in line
    line = check_refused(["simulate", "single-loop", "--n", "100", "--t-max", "1e12"], workdir, capsys, "--t-max")
    assert "(use a shorter --t-max or a larger --dt)" in line
    (workdir / "afile").write_text("")
    line = check_refused(["dmft", "single-loop", "--t-max", "2", "--out", "afile/x.npz"], workdir, capsys, "--out")
    assert "afile is a file, not a folder" in line
    # the fix names the option, not the Python keyword (single loop: a 60-time-unit window fits in memory)
    line = check_refused(["dmft", "single-loop", "--t-max", "5000"], workdir, capsys, "--t-max")
    assert "window=" not in line and "pass --window 1200 " in line


def test_simulate_command(capsys) -> None:
    pytest.importorskip("mrdmft.solvers.simulate")
    pytest.importorskip("mrdmft.solvers.fixed_points")
    payload = json_of(["simulate", "two-regions", "--n", "400", "--t-max", "30", "--seed", "3"], capsys)
    assert payload["N"] == 400 and payload["seed"] == 3
    assert set(payload["measured"]["A"]) == {"A", "B"}
    assert set(payload["measured"]["currents_final"]) == {"A->A", "B->A", "A->B", "B->B"}
    assert payload["predicted"]["A"]["A"] == pytest.approx(6 / np.pi, abs=1e-6)
    for region, error in payload["relative_error_A"].items():
        measured, predicted = payload["measured"]["A"][region], payload["predicted"]["A"][region]
        assert error == pytest.approx((measured - predicted) / predicted, rel=1e-9)
        # N = 400: finite-size errors of tens of per cent are normal (THEORY section 1); 60 % flags a wrong prediction
        assert abs(error) < 0.6
    status, text, _ = run(["simulate", "two-regions", "--n", "200", "--t-max", "10", "--float32"], capsys)
    assert status == 0 and "measured A" in text and "predicted A" in text and "float32" in text


def test_validate_command_table_extrapolation_and_record(workdir: Path, capsys) -> None:
    argv = ["validate", "single-loop", "--sizes", "300,150", "--seeds", "3", "--t-max", "16", "--t-settle", "8",
            "--dt", "0.1", "--float32", "--exact-overlaps", "--json", "--out", "record.json"]
    payload = json_of(argv, capsys)
    rows = payload["table"]["rows"]
    assert [(row["region"], row["N"]) for row in rows] == [("A", 150), ("A", 300)]
    for row in rows:
        assert row["seeds"] == 3 and len(row["samples_A"]) == 3
        assert row["mean_A"] == pytest.approx(np.mean(row["samples_A"]), rel=1e-12)
        assert row["stderr_A"] == pytest.approx(np.std(row["samples_A"], ddof=1) / np.sqrt(3), rel=1e-12)
        assert row["predicted_A"] == pytest.approx(0.820428, abs=1e-5)  # single loop 2.5, g = 2 (stationary)
    assert payload["table"]["settings"]["exact_overlaps"] is True
    # two sizes, p = 1: the line through both points, A_inf = (N2 m2 - N1 m1) / (N2 - N1)
    (m1, s1), (m2, s2) = ((row["mean_A"], row["stderr_A"]) for row in rows)
    fit = payload["extrapolation"]["regions"]["A"]
    assert fit["A_infinity"] == pytest.approx((300 * m2 - 150 * m1) / 150, rel=1e-9)
    assert fit["stderr_A_infinity"] == pytest.approx(np.hypot(300 * s2, 150 * s1) / 150, rel=1e-9)
    saved = json.loads((workdir / "record.json").read_text())
    assert payload["out"] == "record.json"
    assert saved == {k: v for k, v in payload.items() if k != "out"}
    status, text, _ = run(argv[:-3], capsys)
    assert status == 0 and "A_inf ± SE" in text and "A mean ± SE" in text
    assert payload["table"]["resolution"]["region"] == "A"
    assert json_of(argv[:-2], capsys)["out"] is None  # the key is always there (README contract)


def test_validate_notes_one_size_zero_predictions_and_caps_seeds(workdir: Path, capsys) -> None:
    status, text, _ = run(["validate", "single-loop", "--sizes", "100", "--seeds", "2", "--t-max", "5"], capsys)
    assert status == 0 and "need two or more --sizes" in text and "A_inf" not in text
    check_refused(["validate", "single-loop", "--sizes", "100", "--seeds", "100000", "--t-max", "5"], workdir, capsys, "--seeds")
    # pure chaos (g = 3 > the loop's g at which currents vanish): A = 0, and N = 250 gives z = +3.2 (seeded)
    (workdir / "chaos.toml").write_text('name = "chaos"\nregions = ["A"]\ng = [3.0]\nT = [[[2.5]]]\n')
    argv = ["validate", "chaos.toml", "--sizes", "250,500", "--seeds", "3", "--t-max", "20", "--exact-overlaps"]
    status, text, _ = run(argv, capsys)
    assert status == 0 and "passes |z| <= 3 at every size: False" in text
    assert "note: region(s) A are predicted at A = 0" in text and "judge them by the extrapolation" in text
    assert "True, but inconclusive on its own: every prediction is A = 0" in text  # the extrapolation
    status, text, _ = run(argv[:3] + ["500,1000"] + argv[4:], capsys)  # passes at both sizes: still the note
    assert "note: region(s) A are predicted at A = 0" in text


def test_validate_calls_a_pass_of_tiny_networks_inconclusive(workdir: Path, capsys) -> None:
    """N = 12 and 24 with 2 seeds: the SE is of the order of A, so a pass must not read as a validation."""
    argv = ["validate", "single-loop", "--sizes", "12,24", "--seeds", "2", "--t-max", "6", "--dt", "0.1"]
    status, text, _ = run(argv, capsys)
    payload = json_of(argv + ["--json"], capsys)
    assert status == 0
    assert payload["extrapolation"]["passes"] is True  # |z| small only because the SE is huge
    line = next(line for line in text.splitlines() if "within 3 SE of the prediction: " in line)
    assert line.split(": ", 1)[1].startswith("True, but inconclusive: 3 SE is ") and "(region A, N -> infinity)" in line
    assert not payload["extrapolation"]["resolution"]["conclusive"]  # two tiny sizes, 0 dof


@pytest.mark.slow
def test_report_command(workdir: Path, capsys) -> None:
    pytest.importorskip("mrdmft.report")
    (workdir / "report-dir").mkdir()
    (workdir / "report-dir" / "notes.txt").write_text("mine")
    status, out, err = run(["report", "two-regions", "--out", "report-dir", "--quiet"], capsys)
    assert status == 0, err
    assert (workdir / "report-dir" / "report.html").is_file()
    assert (workdir / "report-dir" / "report.ipynb").is_file()
    assert (workdir / "report-dir" / "notes.txt").read_text() == "mine"


# ---------------------------------------------------------------------- output helpers
def test_json_output_is_strict() -> None:
    payload = {"a": np.float64(1.5), "b": np.array([1, 2]), "c": float("nan"), "d": complex(1, -2), "e": (np.bool_(True),)}
    assert to_plain(payload) == {"a": 1.5, "b": [1, 2], "c": None, "d": [1.0, -2.0], "e": [True]}
    assert json.loads(dump_json(payload))["c"] is None
    assert "NaN" not in dump_json({"x": [float("inf")]})


def test_tables_are_aligned() -> None:
    table = format_table(["region", "A"], [["1", 2.5], ["long-name", 10.0]])
    lines = table.splitlines()
    assert len({len(line) for line in lines}) == 1  # right-aligned numbers: equal widths
    assert lines[2].startswith("1 ") and lines[2].endswith("2.5")  # labels left, numbers right
    assert chop({"x": 1e-17, "y": 1.0, "z": -0.5}) == {"x": 0.0, "y": 1.0, "z": -0.5}


# ---------------------------------------------------------------------- README and CI
README_INSTALL_RUN = 'python3 -m pip install ".[report]" && python3 -m mrdmft report'
README_TEST = 'python3 -m pip install ".[test]" && python3 -m pytest'


def test_readme_quickstart_has_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```[a-z]*\n(.*?)```", section, flags=re.S)
    commands = [line for block in blocks for line in block.splitlines() if line.strip()]
    assert commands == [README_INSTALL_RUN, README_TEST]


def test_readme_python_example_runs(capsys) -> None:
    for module in ("fixed_points", "stability", "simulate"):
        pytest.importorskip(f"mrdmft.solvers.{module}")
    readme = (ROOT / "README.md").read_text()
    (example,) = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert 8 <= len([line for line in example.splitlines() if line.strip()]) <= 16
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    assert namespace["points"].fixed_points[0].stable
    np.testing.assert_allclose(namespace["points"].fixed_points[0].variance, [6 / np.pi] * 2, rtol=1e-8)


def test_readme_model_file_examples_load(tmp_path: Path) -> None:
    from mrdmft.theory.modelfile import load_model

    readme = (ROOT / "README.md").read_text()
    complete = [block for block in re.findall(r"```toml\n(.*?)```", readme, flags=re.S) if block.startswith(("name", "regions"))]
    assert len(complete) == 2  # the dense form and the edge list
    dense, edges = (load_model(_written(tmp_path / f"m{i}.toml", text)) for i, text in enumerate(complete))
    assert dense.is_dense and dense.dense_T()[0, 1, 0] == 2.0
    assert edges.channel_names == ["A->B", "B->A:0", "B->A:1"]


def _written(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_ci_runs_the_readme_test_command() -> None:
    script = ROOT / ".ci" / "run"
    assert script.stat().st_mode & stat.S_IXUSR
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    assert README_TEST in text


@pytest.mark.parametrize(("pytest_status", "expected"), [(0, 0), (5, 0), (1, 1), (2, 2)])
def test_ci_script_exit_status(tmp_path: Path, pytest_status: int, expected: int) -> None:
    """.ci/run with a stand-in python3 that records its arguments: status 5 is not a failure."""
    shutil.copytree(ROOT / ".ci", tmp_path / "repo" / ".ci")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    fake = bin_dir / "python3"
    fake.write_text(
        f'#!/usr/bin/env bash\necho "$PWD $*" >> "{log}"\n'
        f'if [ "$2" = "pytest" ]; then exit {pytest_status}; fi\nexit 0\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", str(tmp_path / "repo" / ".ci" / "run")], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == expected, proc.stderr
    calls = log.read_text().splitlines()
    repo = str((tmp_path / "repo").resolve())
    assert calls == [f"{repo} -m pip install .[test]", f"{repo} -m pytest"]


def test_ci_script_stops_when_the_install_fails(tmp_path: Path) -> None:
    shutil.copytree(ROOT / ".ci", tmp_path / "repo" / ".ci")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"
    fake.write_text('#!/usr/bin/env bash\nif [ "$2" = "pip" ]; then exit 1; fi\nexit 0\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", str(tmp_path / "repo" / ".ci" / "run")], capture_output=True, env=env, timeout=60)
    assert proc.returncode == 1


def test_python_m_mrdmft_from_a_checkout_root_with_a_regular_install(tmp_path: Path) -> None:
    """A fresh clone's `mrdmft/` folder shadows the installed package when running from the
    repository root; `python -m mrdmft` must still find mrdmft.theory and mrdmft.solvers."""
    import mrdmft.solvers
    import mrdmft.theory

    site = tmp_path / "site"  # the layout `pip install .` produces
    shutil.copytree(Path(mrdmft.__file__).parent, site / "mrdmft", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(Path(mrdmft.theory.__file__).parent, site / "mrdmft" / "theory", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(Path(mrdmft.solvers.__file__).parent, site / "mrdmft" / "solvers", ignore=shutil.ignore_patterns("__pycache__"))
    checkout = tmp_path / "checkout"  # the clone: mrdmft/ without theory/ and solvers/ inside
    shutil.copytree(Path(mrdmft.__file__).parent, checkout / "mrdmft", ignore=shutil.ignore_patterns("__pycache__"))
    # -S: no .pth files, so an editable install of this environment plays no part; the
    # dependencies come from this process's sys.path (minus the repository itself)
    others = [p for p in sys.path if p and Path(p).is_dir() and Path(p).resolve() != ROOT]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *others])}
    proc = run_subprocess(["presets"], checkout, env=env, python_args=("-S",))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith(preset_names()[0])


def test_python_m_mrdmft_in_a_checkout_that_was_never_installed(tmp_path: Path) -> None:
    """Without `pip install .` the checkout's mrdmft/ has no theory/ or solvers/: one clear line, exit 2."""
    import mrdmft as package

    checkout = tmp_path / "checkout"
    shutil.copytree(Path(package.__file__).parent, checkout / "mrdmft", ignore=shutil.ignore_patterns("__pycache__"))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    proc = run_subprocess(["--help"], checkout, env=env, python_args=("-S",))  # -S: no site-packages, no .pth
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: installation: mrdmft.theory is missing, mrdmft is not installed")
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr


def test_report_accepts_no_progress_like_the_other_commands() -> None:
    parser = build_parser()
    assert parser.parse_args(["report", "--no-progress"]).quiet is True
    assert parser.parse_args(["report", "--quiet"]).quiet is True
    assert parser.parse_args(["report"]).quiet is False


@pytest.mark.parametrize(
    "sizes, problem",
    [("[1.0, 1e-6]", "gets no neurons"), ("[1e-300, 1.0]", "gets no neurons"),
     ("[0.0005, 1.0]", "2 neurons but 4 independent vector directions")],
)
def test_report_refuses_unsampleable_sizes_before_the_notebook(workdir: Path, capsys, sizes: str, problem: str) -> None:
    """A region with no neuron, or fewer than its exact-overlap sampling needs, at the report's n is bad
    input (exit 2, field sizes), not a failed cell."""
    (workdir / "tiny.toml").write_text(
        f'name = "tiny"\nregions = ["A", "B"]\nsizes = {sizes}\n[symmetric]\na = [2.0, 2.0]\nb = [0.5, 0.5]\n'
    )
    line = check_refused(["report", "tiny.toml", "--out", "rep"], workdir, capsys, "sizes")
    assert problem in line


def test_validate_names_the_exact_overlaps_option(workdir: Path, capsys) -> None:
    (workdir / "tiny.toml").write_text(
        'name = "tiny"\nregions = ["A", "B"]\nsizes = [0.001, 1.0]\n[symmetric]\na = [2.0, 2.0]\nb = [0.5, 0.5]\n'
    )
    argv = ["validate", "tiny.toml", "--sizes", "2000,3000", "--t-max", "5", "--exact-overlaps"]
    line = check_refused(argv, workdir, capsys, "--exact-overlaps")
    assert "without exact overlaps" in line and "=False" not in line


@pytest.mark.parametrize("seeds, noted", [(2, True), (5, False)])
def test_validate_notes_few_seeds(capsys, seeds: int, noted: bool) -> None:
    argv = ["validate", "single-loop", "--sizes", "60", "--seeds", str(seeds), "--t-max", "4", "--dt", "0.2", "--no-progress"]
    status, text, _ = run(argv, capsys)
    assert status == 0
    assert (f"note: with {seeds} seeds each standard error rests on {seeds - 1} degree(s)" in text) is noted


@pytest.mark.parametrize("strength, noted", [("1.00000005", True), ("0.9999999", True), ("1.001", False)])
def test_stability_spells_out_a_threshold_eigenvalue(workdir: Path, capsys, strength: str, noted: bool) -> None:
    """Six digits print 1 for Re lambda = 1 + 5e-8: the margin is stated where fixed-points' tolerance blurs it."""
    (workdir / "loop.toml").write_text(f'name = "loop"\nregions = ["X"]\ng = [0.0]\nT = [[[{strength}]]]\n')
    status, text, _ = run(["stability", "loop.toml"], capsys)
    assert status == 0 and ("note: Re lambda - 1 = " in text) is noted
    if noted:
        margin = float(text.split("note: Re lambda - 1 = ")[1].split(":")[0])
        # leading eigenvalue of Psi L at S = 0 is psi(0) * T = T (psi(0) = 1 for tanh)
        assert margin == pytest.approx(float(strength) - 1.0, rel=1e-2)


def test_fixed_points_notes_manifolds_and_missing_stable_points(workdir: Path, capsys) -> None:
    status, text, _ = run(["fixed-points", "fig3-1", "--starts", "20"], capsys)
    assert status == 0 and "marginal points sample continuous manifolds" in text
    (workdir / "r5.toml").write_text(
        'name = "r5"\nregions = ["A", "B", "C", "D", "E"]\ng = [0.0, 0.0, 0.0, 0.0, 0.0]\n[random]\nradius = 2.0\nseed = 0\n'
    )
    status, text, _ = run(["fixed-points", "r5.toml", "--starts", "50"], capsys)
    assert status == 0 and ", 0 stable or marginal" in text and "note: no stable fixed point" in text
    status, text, _ = run(["fixed-points", "two-regions", "--starts", "1"], capsys)
    assert "from 1 start (seed 0)" in text


def test_stationary_explains_unpinned_regions(workdir: Path, capsys) -> None:
    (workdir / "nl.toml").write_text('name = "nl"\nregions = ["A", "B"]\ng = [0.5, 1.5]\n[symmetric]\na = [2.0, 0.0]\nb = [0.0, 0.0]\n')
    status, text, _ = run(["stationary", "nl.toml"], capsys)
    assert status == 0 and "note: region(s) B have no loop stronger than 1" in text
    status, text, _ = run(["stationary", "single-loop"], capsys)
    assert "no loop stronger" not in text


def test_simulate_warns_about_nearly_empty_regions(workdir: Path, capsys) -> None:
    (workdir / "small.toml").write_text(
        'name = "small"\nregions = ["A", "B"]\nsizes = [0.003, 1.0]\n[symmetric]\na = [2.0, 2.0]\nb = [0.5, 0.5]\n'
    )
    status, text, _ = run(["simulate", "small.toml", "--n", "500", "--t-max", "5", "--no-progress"], capsys)
    assert status == 0 and "WARNING: region A has 2 neurons: below 20 neurons" in text
    status, text, _ = run(["simulate", "two-regions", "--n", "100", "--t-max", "5", "--no-progress"], capsys)
    assert "below 20 neurons" not in text


def test_simulate_exact_overlaps_option(capsys) -> None:
    argv = ["simulate", "two-regions", "--n", "200", "--t-max", "5", "--exact-overlaps", "--json"]
    payload = json_of(argv, capsys)
    assert payload["exact_overlaps"] is True
    assert np.abs(np.asarray(payload["realized_overlaps"]["T"], dtype=float) - load_model("two-regions").T).max() < 1e-12


def test_notes_do_not_misread_threshold_loops_or_self_consistent_states(workdir: Path, capsys) -> None:
    """Marginal by tolerance (a loop 1e-8 above threshold) is not a manifold; loop strengths of a
    self-consistent stationary state are not loops (a chaotic region with a self-loop of 2.5)."""
    (workdir / "l.toml").write_text('name = "l"\nregions = ["X"]\ng = [0.0]\nT = [[[1.00000001]]]\n')
    status, text, _ = run(["fixed-points", "l.toml", "--starts", "40"], capsys)
    assert status == 0 and "sample continuous manifolds" not in text
    (workdir / "ffv.toml").write_text(
        'name = "ffv"\nregions = ["A", "B", "C"]\ng = [3.0, 0.5, 0.8]\nedges = ["A->A", "A->B", "B->C"]\n'
        "T = [[2.5, 0.0, 0.0], [1.5, 0.0, 0.0], [0.0, 2.0, 0.0]]\n"
    )
    status, text, _ = run(["stationary", "ffv.toml"], capsys)
    assert "self-consistent" in text and "no loop stronger than 1" not in text
