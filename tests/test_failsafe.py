"""Fails safe (issue 14): full or read-only disks, kill -9 at several moments (runs and sweeps), orphaned
workers, concurrent identical runs, and byte-identical results across thread counts and repeats."""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from glw_sim import runner
from glw_sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
RUN_FILES = ("manifest.json", "timeseries.parquet", "summary.csv", "report.html", "summary.xlsx")


def scenario(tmp_path, name="tiny", extra="", months=2):
    p = tmp_path / f"{name}.yaml"
    p.write_text(f"extends: {BASELINE}\nname: {name}\nhorizon: {{months: {months}}}\n"
                 f"population: {{scale: 0.002, seed: 4}}\nreplications: 1\n{extra}")
    return p


def cli(args, env_extra=None, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env_extra or {}))
    return subprocess.Popen([sys.executable, "-m", "glw_sim.cli", *map(str, args)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kw)


def visible_runs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


def complete(run: Path) -> bool:
    return all((run / f).is_file() for f in RUN_FILES) and (run / "charts").is_dir()


# ----------------------------------------------------------------------------- disks that refuse writes

@pytest.mark.parametrize("target,what", [("pipeline.atomic_write_bytes", "timeseries"),
                                         ("report.atomic_write_text", "report.html")])
def test_full_disk_while_writing_is_one_line_and_keeps_nothing(tmp_path, capsys, monkeypatch, target, what):
    from glw_sim import pipeline, report

    module, name = target.split(".")
    real = getattr({"pipeline": pipeline, "report": report}[module], name)

    def full(path, data):
        if what in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data)

    monkeypatch.setattr({"pipeline": pipeline, "report": report}[module], name, full)
    res = tmp_path / "res"
    code = main(["run", str(scenario(tmp_path)), "--results", str(res), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "No space left on device" in err[0] and str(res / "tiny") in err[0] and "nothing was kept" in err[0]
    assert list((res / "tiny").iterdir()) == []  # no run folder, no partial folder


def test_read_only_results_refused_before_simulating(tmp_path, capsys, monkeypatch):
    def read_only(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), k.get("dir"))

    def never(*a, **k):
        raise AssertionError("simulated although the results could not be written")

    monkeypatch.setattr(runner.tempfile, "mkstemp", read_only)
    monkeypatch.setattr(runner, "run_replication", never)
    code = main(["run", str(scenario(tmp_path)), "--results", str(tmp_path / "ro"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Read-only file system" in err[0] and "--results" in err[0], err


def test_unexpected_errors_keep_their_traceback(tmp_path, monkeypatch):
    # a bug is not a user error: it is raised, not turned into one line
    def bug(*a, **k):
        raise ValueError("an internal bug")

    monkeypatch.setattr(runner, "run_replication", bug)
    with pytest.raises(ValueError, match="an internal bug"):
        main(["run", str(scenario(tmp_path)), "--results", str(tmp_path / "res"), "--quiet"])


# ----------------------------------------------------------------------------- partial folders

def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_partial_folders_are_removed_live_ones_kept(tmp_path):
    from glw_sim.io import FOREIGN_STALE_AFTER, host_token, make_owned_dir, start_token

    folder = tmp_path / "res" / "tiny"
    folder.mkdir(parents=True)
    host, token = host_token(), start_token(os.getpid())
    dead = folder / f".partial-{dead_pid()}-{token}-{host}-abc"
    reused = folder / f".partial-{os.getpid()}-0123-{host}-abc"  # our pid, another process's start token
    legacy = folder / ".partial-x1y2z3"  # from before owners were recorded
    elsewhere = folder / f".partial-{dead_pid()}-{token}-0badf00d-abc"  # another machine's (shared folder)
    abandoned = folder / f".partial-{dead_pid()}-{token}-0badf00d-def"
    for p in (dead, reused, legacy, elsewhere, abandoned):
        (p / "charts").mkdir(parents=True)
        (p / "manifest.json").write_text("{}")
    old = time.time() - FOREIGN_STALE_AFTER - 60
    os.utime(abandoned, (old, old))
    other = tmp_path / "res" / "another-scenario" / f".partial-{dead_pid()}-{token}-{host}-abc"
    other.mkdir(parents=True)
    live = make_owned_dir(folder, "partial")
    runner.results_folder(tmp_path / "res", "tiny")
    assert not other.exists()
    assert not dead.exists() and not reused.exists() and not legacy.exists() and not abandoned.exists()
    assert live.exists() and elsewhere.exists()


def test_name_that_climbs_out_is_refused(tmp_path):
    from glw_sim.results import ResultsError

    for name in ("..", ".", "a/b", ".hidden"):
        with pytest.raises(ResultsError):
            runner.results_folder(tmp_path / "res", name)
    assert not (tmp_path / "b").exists()


def test_kill_9_of_a_run_at_several_moments_leaves_nothing_that_looks_complete(tmp_path, capsys):
    s = scenario(tmp_path)
    res = tmp_path / "res"
    folder = res / "tiny"
    moments = {"starting": lambda pid: True, "partial folder made": lambda pid: bool(list(folder.glob(f".partial-{pid}-*"))),
               "drawing charts": lambda pid: bool(list(folder.glob(f".partial-{pid}-*/.charts-*")))}
    procs = {m: cli(["run", s, "--results", res, "--quiet"]) for m in moments}
    hit = {}
    try:
        time.sleep(0.3)
        os.kill(procs["starting"].pid, signal.SIGKILL)
        hit["starting"] = True
        pending = {m: p for m, p in procs.items() if m != "starting"}
        deadline = time.time() + 120
        while pending and time.time() < deadline:
            for m, p in list(pending.items()):
                if moments[m](p.pid):
                    os.kill(p.pid, signal.SIGKILL)
                    hit[m] = True
                    del pending[m]
                elif p.poll() is not None:  # finished before the moment came
                    del pending[m]
            time.sleep(0.002)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
            p.wait()
    assert hit.get("partial folder made"), "never caught a run writing its results"
    # whatever was killed, every folder that looks like a run is a complete run
    for run in visible_runs(folder):
        assert complete(run), run
    killed_partials = list(folder.glob(".partial-*"))
    assert killed_partials, "a run killed while writing leaves its hidden partial folder"
    # the next run works, and removes the partial folders of the dead runs
    before = set(visible_runs(folder))
    assert main(["run", str(s), "--results", str(res), "--quiet"]) == 0
    capsys.readouterr()
    assert not list(folder.glob(".partial-*"))
    new = set(visible_runs(folder)) - before
    assert len(new) == 1
    run = new.pop()
    assert complete(run)
    # colleagues can open it: the umask's usual permissions, not mkdtemp's 0700 and mkstemp's 0600
    mask = os.umask(0)
    os.umask(mask)
    assert run.stat().st_mode & 0o777 == 0o777 & ~mask
    assert (run / "summary.csv").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (run / "charts" / "labour_market.png").stat().st_mode & 0o777 == 0o666 & ~mask


# ----------------------------------------------------------------------------- determinism and concurrency

RUN_NO_CHARTS = ("import sys; from pathlib import Path; from glw_sim.pipeline import run_scenario; "
                 "from glw_sim.scenario import load_scenario; "
                 "print(run_scenario(load_scenario(sys.argv[1]), Path(sys.argv[2]), charts=False).folder)")


def test_identical_runs_are_byte_identical_across_thread_counts_and_both_kept_when_concurrent(tmp_path):
    # the runner without charts (they cost most of a tiny run and are not what is compared)
    s = scenario(tmp_path, "pkg", "interventions: [{type: restart, start: 2025-07}]\n", months=3)

    def start(results, threads):
        env = dict(os.environ, PYTHONPATH=str(ROOT), NUMBA_NUM_THREADS=threads)
        return subprocess.Popen([sys.executable, "-c", RUN_NO_CHARTS, str(s), str(results)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    one = start(tmp_path / "t1", "1")
    # two identical runs started together into one results folder
    a, b = start(tmp_path / "t2", "2"), start(tmp_path / "t2", "2")
    for p in (one, a, b):
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    pair = visible_runs(tmp_path / "t2" / "pkg")
    assert len(pair) == 2, pair
    runs = visible_runs(tmp_path / "t1" / "pkg") + pair
    for f in ("summary.csv", "timeseries.parquet"):
        blobs = {(r / f).read_bytes() for r in runs}
        assert len(blobs) == 1, f"{f} differs between 1 and 2 threads or between repeats"
    assert not list((tmp_path / "t2" / "pkg").glob(".partial-*"))


# ----------------------------------------------------------------------------- sweeps

def tiny_sweep(tmp_path):
    s = scenario(tmp_path)
    p = tmp_path / "kill.yaml"
    p.write_text(f"name: kill\nscenario: {s}\nmethod: morris\nsamples: 4\nseed: 5\n"
                 "inputs: [{path: labour_demand.matching_elasticity, bounds: [0.4, 0.7]}]\n"
                 "outputs: [{metric: employment_rate, change: true}, {metric: unemployment_rate}]\n")
    return p


def kill_sweep_when(sweep, out, ready, timeout=180):
    """Start ``glw-sim sweep``, SIGKILL the command itself (not its group) once ``ready(children)``, and return
    the processes it had started."""
    proc = cli(["sweep", sweep, "--out", out, "--workers", "2", "--quiet"], start_new_session=True)
    parent = psutil.Process(proc.pid)
    kids = []
    try:
        deadline = time.time() + timeout
        while time.time() < deadline and proc.poll() is None:
            try:
                kids = parent.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            if ready(kids):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return kids
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kill_9_of_a_sweep_leaves_no_workers_and_resumes_to_the_same_indices(tmp_path):
    from glw_sim.sensitivity import analyse, evaluate_chunk, load_sweep, run_sweep, sample

    sweep = tiny_sweep(tmp_path)
    out = tmp_path / "out"
    parts = out / "kill" / "parts"
    moments = [("workers started", lambda kids: len(kids) >= 3),  # the resource tracker and two workers
               ("a chunk stored", lambda kids: bool(list(parts.glob("part-*.parquet"))))]
    for moment, ready in moments:
        kids = kill_sweep_when(sweep, out, ready)
        assert kids, moment
        gone, alive = psutil.wait_procs(kids, timeout=15)
        try:
            assert not alive, f"{moment}: {len(alive)} of the sweep's processes outlived it: " + \
                ", ".join(" ".join(p.cmdline()[:3]) for p in alive if p.is_running())
        finally:
            for p in alive:
                p.kill()
    stored = {p.name: p.read_bytes() for p in parts.glob("part-*.parquet")}
    assert stored
    resumed = run_sweep(sweep, out_dir=out, workers=1)
    # finished chunks were not run again: their parts are untouched, and every run is stored exactly once
    for name, blob in stored.items():
        assert (parts / name).read_bytes() == blob
    rows = pd.concat([pd.read_parquet(p) for p in parts.glob("part-*.parquet")])
    s, scen = load_sweep(sweep)
    X = sample(s)
    assert sorted(rows["run"]) == list(range(len(X)))
    # and the indices are those of an uninterrupted sweep (here: every run evaluated in this process)
    import numba

    threads = numba.get_num_threads()
    try:
        df = evaluate_chunk(scen, s.model_dump_json(), list(range(len(X))), X)
    finally:
        numba.set_num_threads(threads)
    Y = df[[c for c in df.columns if c.startswith("y:")]].to_numpy(float)
    pd.testing.assert_frame_equal(resumed, analyse(s, X, Y), check_exact=True)


def test_orphaned_pool_worker_exits(tmp_path):
    # the initializer's checks on their own: a worker whose parent has gone exits at once
    code = ("import os, sys; from glw_sim.workers import worker_init; worker_init(os.getppid() + 10**6); "
            "print('survived')")
    r = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "survived" not in r.stdout


def test_available_metrics_match_what_a_run_records():
    # the sweep's up-front check of its outputs must know exactly the metrics the model records
    from glw_sim.metrics import BOROUGH_METRICS
    from glw_sim.scenario import load_scenario
    from glw_sim.sweep import available_metrics

    sc = load_scenario(BASELINE, {"name": "m", "horizon": {"months": 3}, "population": {"scale": 0.002},
                                  "interventions": [{"type": "restart", "start": "2025-07"},
                                                    {"type": "adult_skills", "start": "2025-07"}]})
    for groups in (True, False):
        m = runner.simulate(sc, 3, collect_groups=groups)
        london = set().union(*(r.keys() for r in m.records)) - {"month", "date"}
        group = {k[2] for _, g in m.group_records for k in g}
        want = available_metrics(sc, groups)
        assert want["london"] == london
        assert want["group"] == group
        assert want["borough"] == set(BOROUGH_METRICS)
    plain = load_scenario(BASELINE, {"name": "p", "horizon": {"months": 2}, "population": {"scale": 0.002}})
    m = runner.simulate(plain, 3)
    assert available_metrics(plain)["london"] == set().union(*(r.keys() for r in m.records)) - {"month", "date"}
    assert np.isfinite(m.records[-1]["employment_rate"])


def ishigami(tmp_path, name="ish"):
    p = tmp_path / f"{name}.yaml"
    p.write_text(f"name: {name}\nscenario: ishigami\nmethod: sobol\nsamples: 64\nseed: 3\n"
                 "inputs: [{path: x1, bounds: [-3, 3]}, {path: x2, bounds: [-3, 3]}, {path: x3, bounds: [-3, 3]}]\n"
                 "outputs: [{metric: y}]\n")
    return p


def test_a_sweep_already_running_into_its_folder_is_refused(tmp_path, capsys):
    from glw_sim.sensitivity import Store, load_sweep

    p = ishigami(tmp_path)
    sweep, scen = load_sweep(p)
    held = Store(tmp_path / "out" / "ish", sweep, scen, str(p))
    held.lock(str(p))  # as another `glw-sim sweep` would
    try:
        code = main(["sweep", str(p), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"])
    finally:
        held.unlock()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "already running" in err[0] and str(p) in err[0], err
    assert not list((tmp_path / "out" / "ish" / "parts").iterdir())


def test_an_unreadable_part_is_one_line(tmp_path, capsys):
    from glw_sim.sensitivity import run_sweep

    p = ishigami(tmp_path)
    run_sweep(p, out_dir=tmp_path / "out", workers=1, max_chunks=1)
    part = next((tmp_path / "out" / "ish" / "parts").glob("part-*.parquet"))
    part.write_bytes(part.read_bytes()[:40])
    code = main(["sweep", str(p), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(part) in err[0] and "unreadable part" in err[0], err


def test_full_disk_during_a_sweep_is_one_line_keeping_finished_chunks(tmp_path, capsys, monkeypatch):
    from glw_sim import io, sensitivity

    p = ishigami(tmp_path)
    real, calls = sensitivity.atomic_write_bytes, []

    def fsync_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as write() or fsync() fail: naming no file

    def write(path, data):
        calls.append(path)
        fsync = io.os.fsync
        if len(calls) == 2:
            io.os.fsync = fsync_full
        try:
            return real(path, data)
        finally:
            io.os.fsync = fsync

    monkeypatch.setattr(sensitivity, "atomic_write_bytes", write)
    code = main(["sweep", str(p), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "No space left on device" in err[0] and str(calls[1]) in err[0], err
    parts = tmp_path / "out" / "ish" / "parts"
    assert [f.name for f in parts.iterdir()] == [calls[0].name]  # the finished chunk kept, no temporary file
    assert len(calls) == 2


def test_half_written_parts_of_a_killed_sweep_are_removed(tmp_path):
    from glw_sim.sensitivity import run_sweep

    p = ishigami(tmp_path)
    parts = tmp_path / "out" / "ish" / "parts"
    parts.mkdir(parents=True)
    half = parts / ".part-00000000-00000063.parquet.x1y2.tmp"  # killed between writing and renaming
    half.write_bytes(b"PAR1 half")
    run_sweep(p, out_dir=tmp_path / "out", workers=1, max_chunks=1)
    assert not half.exists() and len(list(parts.glob("part-*.parquet"))) == 1
