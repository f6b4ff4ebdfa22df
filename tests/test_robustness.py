"""Huge or odd input never ends in an internal error (helper J's cases).

Each case must exit with status 2 and one line ``error: <field>: <problem> (<fix>)``
on stderr, before anything is allocated or written; an interrupted report raises
``KeyboardInterrupt`` (exit 130) and keeps the earlier report files.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mrdmft import report
from mrdmft.cli import EXIT_INTERRUPTED, main
from mrdmft.solvers.dmft import solve_dmft
from mrdmft.solvers.fixed_point_inputs import starts_memory_bytes
from mrdmft.solvers.fixed_points import find_fixed_points
from mrdmft.solvers.network_sampling import MAX_REGION_SIZE, network_memory_bytes, region_sizes, sample_network
from mrdmft.solvers.simulate import MAX_STEPS, run_memory_bytes, run_network, simulate_network
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.modelfile import load_model

ERROR_LINE = re.compile(r"^error: [^:]+: .+ \(.+\)$")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>" for p in sorted(folder.rglob("*"))}


def run_cli(argv: list[str], capsys, cwd: Path, monkeypatch) -> tuple[int, str, str, dict]:
    """Run ``main(argv)`` in ``cwd``; return status, stdout, stderr and the folder afterwards."""
    monkeypatch.chdir(cwd)
    before = snapshot(cwd)
    status = main(argv)
    out, err = capsys.readouterr()
    after = snapshot(cwd)
    assert after == before, "the command wrote files"
    return status, out, err, after


def one_line_error(status: int, err: str, field: str) -> str:
    assert status == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert ERROR_LINE.match(lines[0]), lines[0]
    assert lines[0].startswith(f"error: {field}: "), lines[0]
    assert "internal" not in lines[0] and "Traceback" not in err
    return lines[0]


# ---------------------------------------------------------------------- 1. simulate --n huge
def test_simulate_huge_n_is_refused_before_allocating(capsys, tmp_path, monkeypatch) -> None:
    status, out, err, _ = run_cli(["simulate", "--n", "100000000", "--t-max", "10"], capsys, tmp_path, monkeypatch)
    line = one_line_error(status, err, "--n")
    assert "GiB" in line and "smaller n" in line and out == ""


def test_region_size_limit_instead_of_int64_overflow() -> None:
    spec = load_model("fig3-1")
    with pytest.raises(ModelInputError) as info:
        region_sizes(spec, 10**30)
    assert info.value.field == "n" and f"{MAX_REGION_SIZE:.3g}" in info.value.problem


def test_sample_network_checks_its_memory_estimate() -> None:
    spec = load_model("single-loop")  # one region, g > 0: chi is N x N
    n = 300
    needed = network_memory_bytes(spec, n)
    vectors = 2  # n and m of the rank-one self-loop
    assert needed == pytest.approx(8 * n**2 + 8 * 6 * n * vectors)
    sample = sample_network(spec, n, seed=1)
    allocated = sum(c.nbytes for c in sample.chi if c is not None)
    allocated += sum(b.nbytes for b in sample.n_blocks + sample.m_blocks)
    assert allocated <= needed < 3 * allocated
    with pytest.raises(ModelInputError) as info:
        sample_network(spec, n, seed=1, max_memory_bytes=int(needed) - 1)
    assert info.value.field == "n" and "GiB" in info.value.problem
    assert network_memory_bytes(spec, n, np.float32) == pytest.approx(4 * n**2 + 8 * 6 * n * vectors)


@given(st.integers(min_value=2, max_value=10**6))
def test_network_memory_estimate_grows_with_n(n: int) -> None:
    spec = load_model("fig3-1-disorder")
    assert network_memory_bytes(spec, n + 1) > network_memory_bytes(spec, n) > 0


# ---------------------------------------------------------------------- 2. fixed-points --starts huge
def test_fixed_points_huge_starts_is_refused(capsys, tmp_path, monkeypatch) -> None:
    status, out, err, _ = run_cli(["fixed-points", "--starts", "100000000"], capsys, tmp_path, monkeypatch)
    line = one_line_error(status, err, "--starts")
    assert "GiB" in line and "fewer starts" in line and out == ""


def test_starts_memory_formula_and_api_field() -> None:
    assert starts_memory_bytes(9, 2) == 8 * 10 * (4 * 4 + 24 * 2 + 16)
    with pytest.raises(ModelInputError) as info:
        find_fixed_points(load_model("two-regions"), n_starts=10**12)
    assert info.value.field == "n_starts"


# ---------------------------------------------------------------------- 3. simulate --t-max huge
def test_simulate_absurd_step_count_is_refused(capsys, tmp_path, monkeypatch) -> None:
    status, out, err, _ = run_cli(["simulate", "--n", "100", "--t-max", "1e300"], capsys, tmp_path, monkeypatch)
    line = one_line_error(status, err, "--t-max")
    assert "2e+301 steps" in line and f"{MAX_STEPS:.3g}" in line


def test_recordings_that_do_not_fit_are_refused_on_t_max() -> None:
    spec = load_model("two-regions")
    state, recordings = run_memory_bytes(spec, region_sizes(spec, 50), n_steps=1000, record_every=10, record_neurons=0)
    assert recordings == 8 * 102 * (spec.n_channels + spec.n_regions + 6)
    assert state > 0
    with pytest.raises(ModelInputError) as info:
        simulate_network(spec, n=50, t_max=50.0, dt=0.05, record_every=1, max_memory_bytes=int(recordings) // 2)
    assert info.value.field == "t_max"
    sample = sample_network(spec, 50)
    with pytest.raises(ModelInputError) as info:
        run_network(spec, sample, t_max=1e300)
    assert info.value.field == "t_max" and "steps" in info.value.problem


# ---------------------------------------------------------------------- 4. report target is a folder
def _no_execution(*args, **kwargs) -> None:
    raise AssertionError("the notebook must not run when the targets are bad")


def test_report_target_folder_is_refused_before_running(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(report, "execute_notebook", _no_execution)
    out = tmp_path / "rep"
    (out / "report.html").mkdir(parents=True)
    status, stdout, err, _ = run_cli(["report", "--out", str(out)], capsys, tmp_path, monkeypatch)
    line = one_line_error(status, err, "--out")
    assert str(out / "report.html") in line
    with pytest.raises(ModelInputError) as info:
        report.build_report("two-regions", out, progress=False)
    assert info.value.field == "out_dir"
    assert report.check_report_targets(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"


# ---------------------------------------------------------------------- 5. Ctrl-C during report
def _ipykernel_children() -> list[int]:
    """Live ipykernel processes whose parent is this process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"ipykernel" in cmdline:
            found.append(int(entry.name))
    return found


class _InterruptWhenCellStarts:
    """Progress stream that sends SIGINT to this process shortly after ``marker`` is printed."""

    def __init__(self, marker: str, delay: float) -> None:
        self.marker, self.delay, self.timer = marker, delay, None

    def write(self, text: str) -> int:
        if self.marker in text and self.timer is None:
            self.timer = threading.Timer(self.delay, os.kill, (os.getpid(), signal.SIGINT))
            self.timer.start()
        return len(text)

    def flush(self) -> None:
        pass


def _assert_kernel_stopped_and_handler_restored() -> None:
    """No kernel child is left (it may take a few seconds to exit) and Ctrl-C works as before."""
    deadline = time.monotonic() + 10
    while _ipykernel_children() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _ipykernel_children() == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_sigint_during_notebook_raises_keyboard_interrupt(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("# quick\nx = 1"),
        nbformat.v4.new_code_cell("# slow\nimport time\ntime.sleep(60)"),
        nbformat.v4.new_code_cell("# never\nopen('ran-too-far', 'w').close()"),
    ]
    stream = _InterruptWhenCellStarts("[2/3]", delay=0.5)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        report.execute_notebook(nb, timeout=120, progress=stream, workdir=str(tmp_path))
    assert time.monotonic() - started < 45
    assert not (tmp_path / "ran-too-far").exists()
    _assert_kernel_stopped_and_handler_restored()


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
@pytest.mark.parametrize("when", ["before", "after"])
def test_sigint_while_the_kernel_starts_is_not_lost(tmp_path, monkeypatch, when: str) -> None:
    """A SIGINT queued for nbclient's own handler while the kernel starts must stop the run.

    It used to be dropped when execute_notebook replaced that handler (the run finished, exit 0).
    The signal is sent before the kernel client starts, or just before the start hook runs.
    """
    import nbclient.client
    from nbclient import NotebookClient

    original_start, original_hook = NotebookClient.async_start_new_kernel_client, nbclient.client.run_hook

    async def start_client_after_sigint(self):
        os.kill(os.getpid(), signal.SIGINT)  # nbclient's loop handler is installed by now
        return await original_start(self)

    async def sigint_then_hook(hook, **kwargs):
        if getattr(hook, "__name__", "") == "on_notebook_start":
            os.kill(os.getpid(), signal.SIGINT)  # queued in the loop's wake-up pipe, not yet handled
        return await original_hook(hook, **kwargs)

    if when == "before":
        monkeypatch.setattr(NotebookClient, "async_start_new_kernel_client", start_client_after_sigint)
    else:
        monkeypatch.setattr(nbclient.client, "run_hook", sigint_then_hook)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("# first\nopen('ran', 'w').close()")]
    with pytest.raises(KeyboardInterrupt):
        report.execute_notebook(nb, timeout=120, progress=None, workdir=str(tmp_path))
    assert not (tmp_path / "ran").exists()
    _assert_kernel_stopped_and_handler_restored()


def test_interrupt_detection_follows_the_exception_chain() -> None:
    class Client:
        pass

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise AssertionError  # what nbclient's cleanup raised before the fix
    except AssertionError as exc:
        assert report._interrupted(Client(), exc)
    assert not report._interrupted(Client(), RuntimeError("kernel died"))
    killed = Client()
    killed._async_cleanup_kernel_future = object()  # nbclient's SIGINT handler ran
    assert report._interrupted(killed, RuntimeError("kernel died"))


def test_cli_interrupted_report_keeps_old_files(capsys, tmp_path, monkeypatch) -> None:
    out = tmp_path / "rep"
    out.mkdir()
    (out / "report.html").write_text("old")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "execute_notebook", interrupted)
    status, stdout, err, after = run_cli(["report", "two-regions", "--out", str(out)], capsys, tmp_path, monkeypatch)
    assert status == EXIT_INTERRUPTED
    assert err.splitlines() == [
        "error: interrupted: stopped by the user (output files are written atomically when a run ends: "
        "none is half-written, earlier files are unchanged)"
    ]
    assert after["rep/report.html"] == b"old"


@pytest.mark.slow
def test_sigint_to_report_process_exits_130_and_keeps_files(tmp_path) -> None:
    out = tmp_path / "rep_keep"
    out.mkdir()
    (out / "report.html").write_text("old")
    process = subprocess.Popen(
        [sys.executable, "-m", "mrdmft", "report", "fig3-1-disorder", "--out", str(out)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    for line in process.stderr:  # wait until a cell runs
        if line.startswith("[3/"):
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == EXIT_INTERRUPTED, err
    assert "error: interrupted" in err and "internal" not in err
    assert (out / "report.html").read_text() == "old"
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]


# ---------------------------------------------------------------------- 6. dmft huge numbers
def test_dmft_huge_t_max_message_is_short(capsys, tmp_path, monkeypatch) -> None:
    status, out, err, _ = run_cli(["dmft", "--t-max", "1e300"], capsys, tmp_path, monkeypatch)
    line = one_line_error(status, err, "--t-max")
    assert "2e+301 steps" in line and "1.46e+592 TiB" in line
    assert not re.search(r"\d{8,}", line), line
    status, out, err, _ = run_cli(["dmft", "--t-max", "1e300", "--dt", "1e-10"], capsys, tmp_path, monkeypatch)
    assert "not a finite number of steps" in one_line_error(status, err, "--t-max")


# ---------------------------------------------------------------------- 7. conflicting flags
@pytest.mark.parametrize("fmt", ["latex", "text"])
def test_derive_conflicting_format_and_json(fmt, capsys, tmp_path, monkeypatch) -> None:
    status, out, err, _ = run_cli(["derive", "two-regions", "--format", fmt, "--json"], capsys, tmp_path, monkeypatch)
    assert "--format" in one_line_error(status, err, "--json") and out == ""


def test_derive_json_spellings_agree(capsys, tmp_path, monkeypatch) -> None:
    outputs = []
    for argv in (["--json"], ["--format", "json"], ["--format", "json", "--json"]):
        status, out, err, _ = run_cli(["derive", "two-regions", *argv], capsys, tmp_path, monkeypatch)
        assert status == 0 and err == ""
        outputs.append(json.loads(out))
    assert outputs[0] == outputs[1] == outputs[2]
    status, out, _, _ = run_cli(["derive", "two-regions"], capsys, tmp_path, monkeypatch)
    assert status == 0 and not out.lstrip().startswith("{")


# ---------------------------------------------------------------------- 8. dmft grid end
@pytest.mark.parametrize(("t_max", "dt", "t_final"), [(1.0, 0.3, 0.9), (1.0, 0.25, 1.0), (1.0, 0.05, 1.0)])
def test_dmft_grid_ends_at_last_step_not_after_t_max(t_max, dt, t_final) -> None:
    result = solve_dmft(load_model("single-loop"), t_max=t_max, dt=dt)
    assert result.t[-1] == pytest.approx(t_final, abs=1e-12)
    assert result.t[-1] <= t_max + 1e-12


def test_cli_dmft_t_final_not_past_t_max(capsys, tmp_path, monkeypatch) -> None:
    status, out, err, _ = run_cli(["dmft", "single-loop", "--t-max", "10", "--dt", "0.9", "--json"], capsys, tmp_path, monkeypatch)
    assert status == 0, err
    assert json.loads(out)["t_final"] == pytest.approx(9.9)


def test_ascii_terminal_gets_escapes_not_an_internal_error(tmp_path: Path) -> None:
    """Greek region names and the ± of tables under PYTHONIOENCODING=ascii: exit 0, escaped."""
    model = tmp_path / "greek.toml"
    model.write_text('name = "greek"\nregions = ["α", "β"]\n[symmetric]\na = [2.0, 2.0]\nb = [0.5, 0.5]\n', encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(
        [sys.executable, "-m", "mrdmft", "fixed-points", str(model)], capture_output=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert b"regions (\\u03b1, \\u03b2)" in done.stdout and done.stderr == b""


@pytest.mark.parametrize(
    "module, function, args, field",
    [
        ("mrdmft.solvers.fixed_points", "find_fixed_points", (None,), "spec"),
        ("mrdmft.solvers.fixed_points", "find_fixed_points", ("two-regions",), "spec"),
        ("mrdmft.solvers.simulate", "simulate_network", ("two-regions", 100, 5.0), "spec"),
        ("mrdmft.solvers.dmft", "solve_dmft", ({"T": 1}, 5.0), "spec"),
        ("mrdmft.theory.derivation", "derive", (3,), "spec"),
        ("mrdmft.theory.modelfile", "load_model", (3,), "model"),
    ],
)
def test_python_api_names_a_wrong_argument_type(module: str, function: str, args: tuple, field: str) -> None:
    """A preset name or None where a ModelSpec is expected: ModelInputError naming the fix, not AttributeError."""
    with pytest.raises(ModelInputError) as info:
        getattr(importlib.import_module(module), function)(*args)
    assert info.value.field == field and ("load_model" in info.value.fix or "preset" in info.value.fix)


def test_simulation_api_limits_match_the_cli() -> None:
    from mrdmft.solvers.simulate import simulate_network
    from mrdmft.theory.modelfile import load_model

    spec = load_model("two-regions")
    with pytest.raises(ModelInputError, match="integer >= 2"):
        simulate_network(spec, n=1, t_max=1.0)
    run = simulate_network(spec, n=20, t_max=1.0)
    with pytest.raises(ModelInputError) as info:
        run.measured_A(t_settle=-5.0)
    assert info.value.field == "t_settle"
