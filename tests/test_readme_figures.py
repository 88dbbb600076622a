"""tools/readme_figures.py, the list of runs behind the README's model figures: every file its commands name
exists, each run goes to its own folder with the command that made it, and a finished run is not run again."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("readme_figures", ROOT / "tools" / "readme_figures.py")
rf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rf)


def test_every_file_the_runs_name_is_in_the_repository(tmp_path):
    for name in rf.RUNS:
        for quick in (False, True):
            argv = rf.command(name, tmp_path, quick)
            assert Path(argv[0]).name in ("glw-sim", Path(sys.executable).name), argv
            named = [a for a in argv[1:] if a.endswith((".yaml", ".py")) and str(tmp_path) not in a]
            for a in named:
                assert (ROOT / a).is_file(), (name, a)
    assert rf.command("solve-best", tmp_path, False)[2] == str(tmp_path / "solve" / "route-to-80" / "best.yaml")


def test_quick_overrides_come_last_so_they_win(tmp_path):
    argv = rf.command("workwell-in-work", tmp_path, True)
    at = [i for i, a in enumerate(argv) if a == "--scale"]
    assert [argv[i + 1] for i in at] == ["0.05", "0.002"]  # the full run's scale, then the quick one's
    assert argv[-6:] == ["--scale", "0.002", "--replications", "2", "--months", "60"]


def test_a_finished_run_is_skipped_and_a_failed_one_reported(tmp_path, monkeypatch):
    calls = []

    class Done:
        returncode = 3

    def fake_run(argv, **kw):
        calls.append(argv)
        return Done()

    monkeypatch.setattr(rf.subprocess, "run", fake_run)
    assert rf.run("validation", tmp_path, True) is False  # failed: no `done`, the command kept
    folder = tmp_path / "readme" / "validation"
    assert not (folder / "done").exists() and "glw-sim validation" in (folder / "command.txt").read_text()
    (folder / "done").write_text("1 s\n")
    assert rf.run("validation", tmp_path, True) is True and len(calls) == 1  # done: not run again
