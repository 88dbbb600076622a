"""Re-derive the README's model figures: every run the README quotes, in the order an analyst reads them, each
into ``<results>/readme/<name>/`` with the command that made it (``command.txt``), its console output
(``console.txt``, which names the run's own results folder) and ``done`` when it ended well.

    python tools/readme_figures.py --list
    python tools/readme_figures.py [--only NAME ...] [--results DIR] [--quick]

Resumable: a run whose folder holds ``done`` is skipped (delete the folder to run it again); a run that fails is
reported and the others go on (exit 1 at the end). ``--quick`` runs each at a tiny scale and a few months, to check
that every command still works (its figures mean nothing). The full list takes about an hour and a half on the
2-core machine (the solve is the largest part); the README's benchmark figures are re-measured with
``benchmarks/`` (``make bench``, ``benchmarks/health_vs_before.py``), not here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

#: name -> (README section, command, what --quick adds). ``{results}``: this run's results folder.
RUNS: dict[str, tuple[str, list[str], list[str]]] = {
    "solve": ("What would it take (the solver): the shipped route-to-80 solve",
              ["glw-sim", "solve", "solves/route-to-80.yaml", "--workers", "2", "--results", "{results}"],
              ["--trials", "3", "--scale", "0.006", "--replications", "2"]),
    "solve-best": ("The solve's chosen package run again (reproduces the solve's figure)",
                   ["glw-sim", "run", "{results}/solve/route-to-80/best.yaml", "--results", "{results}"],
                   ["--scale", "0.002", "--replications", "2", "--months", "60"]),
    "what-it-takes": ("System levers: What it takes",
                      ["glw-sim", "run", "scenarios/what-it-takes-example.yaml", "--results", "{results}"],
                      ["--scale", "0.002", "--replications", "2", "--months", "60"]),
    "second-target": ("The plan's second target: route to 80 to 2035 (scale 0.01, 4 replications)",
                      [sys.executable, "tools/second_target.py", "0.01", "4"], []),
    "levers-example": ("System levers: levers-example",
                       ["glw-sim", "run", "scenarios/levers-example.yaml", "--results", "{results}"],
                       ["--scale", "0.002", "--replications", "2", "--months", "60"]),
    "validation": ("Validation (the no-change baseline's drift, month-0 checks, the hindcast)",
                   ["glw-sim", "validation", "--results", "{results}"],
                   ["--scale", "0.005", "--replications", "2", "--months", "6"]),
    "workwell-without-in-work": ("WorkWell's in-work route: without it (out of work only)",
                                 ["glw-sim", "run", "scenarios/workwell-out-of-work-only.yaml", "--scale", "0.05",
                                  "--replications", "16", "--months", "60", "--results", "{results}"],
                                 ["--scale", "0.002", "--replications", "2", "--months", "60"]),
    "workwell-in-work": ("WorkWell's in-work route: with it (the default; the same seeds)",
                         ["glw-sim", "run", "scenarios/workwell-pan-london.yaml", "--scale", "0.05",
                          "--replications", "16", "--months", "60", "--results", "{results}"],
                         ["--scale", "0.002", "--replications", "2", "--months", "60"]),
    "route-to-80-table": ("Route to 80 before and after the defaults were put on the evidence: the 'after' row",
                          ["glw-sim", "run", "scenarios/route-to-80.yaml", "--months", "60", "--scale", "0.1",
                           "--replications", "15", "--results", "{results}"],
                          ["--scale", "0.002", "--replications", "2", "--months", "60"]),
}


def command(name: str, results: Path, quick: bool) -> list[str]:
    """The run's argv: ``glw-sim`` from this interpreter's environment; ``--quick``'s overrides last (argparse
    takes the last of a repeated option)."""
    _, argv, fast = RUNS[name]
    if quick and name == "second-target":
        argv = [*argv[:2], "0.002", "2"]
    out = [a.replace("{results}", str(results)) for a in argv + (fast if quick else [])]
    return [str(BIN / "glw-sim")] + out[1:] if out[0] == "glw-sim" else out


def run(name: str, results: Path, quick: bool) -> bool:
    """One run into ``results/readme/name``; False if it failed."""
    folder = results / "readme" / name
    if (folder / "done").exists():
        print(f"{name}: done already ({folder})")
        return True
    folder.mkdir(parents=True, exist_ok=True)
    argv = command(name, results, quick)
    (folder / "command.txt").write_text(" ".join(argv) + f"\n# README: {RUNS[name][0]}\n")
    t = time.perf_counter()
    with (folder / "console.txt").open("w") as log:
        rc = subprocess.run(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode
    took = time.perf_counter() - t
    if rc == 0:
        (folder / "done").write_text(f"{took:.0f} s\n")
    log_path = folder / "console.txt"
    print(f"{name}: {'ok' if rc == 0 else f'FAILED (exit {rc}, see {log_path})'} in {took:.0f} s")
    return rc == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", action="store_true", help="list the runs and stop")
    ap.add_argument("--only", nargs="+", choices=list(RUNS), help="these runs only")
    ap.add_argument("--results", type=Path, default=ROOT / "results", help="results folder (default: results)")
    ap.add_argument("--quick", action="store_true", help="tiny runs, to check the commands (figures mean nothing)")
    a = ap.parse_args()
    if a.list:
        for name, (section, *_rest) in RUNS.items():
            print(f"{name:26} {section}")
        return
    names = a.only or list(RUNS)
    if "solve-best" in names and "solve" not in names and not (a.results / "solve" / "route-to-80").exists():
        sys.exit("tools/readme_figures.py: solve-best needs the solve's results; run --only solve first")
    ok = [run(n, a.results.resolve(), a.quick) for n in names]
    sys.exit(0 if all(ok) else 1)


if __name__ == "__main__":
    main()
