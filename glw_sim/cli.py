"""Command line: ``glw-sim run | explore | report | compare | validate | validation | calibrate | programmes |
sweep | solve``.
Parses and dispatches only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glw_sim.firstrun import compile_first as _compile_first
from glw_sim.firstrun import mark_compiled as _mark_compiled
from glw_sim.firstrun import note_compiling as _note_compiling


def _fail(msg: str) -> int:
    print(f"glw-sim: error: {' '.join(str(msg).split())}", file=sys.stderr)  # always one line
    return 2


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line like every other error (the usage is one --help away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return n


def _scale(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share of residents in (0, 1], got {text!r}") from None
    if not 0 < x <= 1:
        raise argparse.ArgumentTypeError(f"expected a share of residents in (0, 1], got {text!r}")
    return x


def _months(text: str) -> int:
    n = _positive(text)
    if n > 600:
        raise argparse.ArgumentTypeError(f"expected at most 600 months, got {text!r}")
    return n


def _precision(text: str):
    """``REL,ABS`` (e.g. 0.1,300), ``REL`` alone (300 residents), or ``off``."""
    if text.strip().lower() == "off":
        return False
    try:
        parts = [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected REL,ABS such as 0.1,300 (or off), got {text!r}") from None
    if len(parts) not in (1, 2) or not 0 < parts[0] <= 1 or (len(parts) == 2 and not 0 < parts[1] <= 1e6):
        raise argparse.ArgumentTypeError(f"expected REL in (0, 1] and ABS in (0, 1e6], got {text!r}")
    return {"relative": parts[0], **({"absolute": parts[1]} if len(parts) == 2 else {})}


def _warn(msg: str) -> None:
    print(f"glw-sim: warning: {' '.join(str(msg).split())}", file=sys.stderr)  # always one line


def cmd_validate(args) -> int:
    from glw_sim.scenario import hub_warnings, load_scenario

    sc = load_scenario(args.scenario)
    for w in hub_warnings(sc, args.scenario):
        _warn(w)
    print(f"{args.scenario}: ok ({sc.name}, {sc.horizon.months} months from {sc.horizon.start}, "
          f"scale {sc.population.scale}, {sc.replications} replications)")
    return 0


def cmd_run(args) -> int:
    from tqdm import tqdm

    from glw_sim.pipeline import run_scenario
    from glw_sim.runner import results_folder
    from glw_sim.scenario import hub_warnings, load_scenario

    overrides: dict = {}
    if args.scale is not None:
        overrides.setdefault("population", {})["scale"] = args.scale
    if args.seed is not None:
        overrides.setdefault("population", {})["seed"] = args.seed
    if args.months is not None:
        overrides.setdefault("horizon", {})["months"] = args.months
    if args.replications is not None:
        overrides["replications"] = args.replications
    if args.precision is not None:
        overrides["precision"] = args.precision or None
    elif args.scale is not None or args.replications is not None:
        overrides["precision"] = None  # a scale or number of replications given by hand is used as given
    sc = load_scenario(args.scenario, overrides)
    results_folder(Path(args.results), sc.name)  # refused now, before any work, if results cannot go there
    for w in hub_warnings(sc, args.scenario):
        _warn(w)
    total = sc.horizon.months * sc.replications
    marker = _note_compiling(args.quiet)
    _compile_first(sc, marker, args.quiet)
    with tqdm(total=total, desc=f"{sc.name}", unit="month", disable=args.quiet, file=sys.stderr) as bar:
        def report(msg: str, months: int | None = None) -> None:
            if not args.quiet:
                bar.write(msg, file=sys.stderr)
            if months is not None:
                bar.reset(total=months)

        res = run_scenario(sc, Path(args.results), progress=bar.update, argv=sys.argv, workers=args.workers,
                           report=report)
    _mark_compiled(marker)
    from glw_sim.results import console_summary, load_results

    print("\n" + console_summary(load_results(res.folder), sc.outputs.boroughs))
    print(f"\nresults: {res.folder}")
    if (res.folder / "report.html").exists():
        print(f"briefing: {res.folder / 'report.html'}")
    return 0


def cmd_explore(args) -> int:
    try:
        from glw_sim.explore_app import serve
    except ModuleNotFoundError as exc:
        if exc.name not in ("panel", "bokeh", "param"):
            raise
        return _fail(f"explore needs Panel ({exc.name} is not installed): pip install -e '.[explore]' (make setup "
                     "installs it)")
    from glw_sim.runner import prepare_folder

    prepare_folder(Path(args.results))  # refused now if results cannot go there
    try:
        serve(port=args.port, results=Path(args.results), open_browser=not args.no_browser)
    except KeyboardInterrupt:  # Ctrl-C: the normal way to stop (runs under way are stopped, nothing half kept)
        pass
    except OSError as exc:
        if exc.errno in (98, 48):  # EADDRINUSE (Linux, macOS)
            return _fail(f"explore: port {args.port} is in use; give another with --port N")
        raise
    print("glw-sim explore: stopped", file=sys.stderr)
    return 0


def _port(text: str) -> int:
    n = _positive(text)
    if n > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return n


def _run_folder(arg: str) -> Path:
    """A run folder, or a scenario's results folder (its newest run)."""
    from glw_sim.results import ResultsError, latest_run

    p = Path(arg)
    if not p.exists():
        raise ResultsError(f"{arg}: no such results folder; expected results/<scenario>/<run-id>")
    if not p.is_dir():
        raise ResultsError(f"{arg}: is a file, not a folder; expected results/<scenario>/<run-id>")
    return p if (p / "manifest.json").exists() else latest_run(p)


def cmd_report(args) -> int:
    from glw_sim.report import write_outputs

    if (Path(args.run) / "sweep.json").is_file():  # a sweep's folder: its report
        from glw_sim.sensitivity import rewrite_report

        print(f"sweep report: {rewrite_report(Path(args.run))}")
        return 0
    folder = _run_folder(args.run)
    path = write_outputs(folder, charts=not args.no_charts)
    print(f"report: {path}\nworkbook: {folder / 'summary.xlsx'}")
    return 0


def cmd_compare(args) -> int:
    from datetime import datetime

    from glw_sim.compare import write_comparison

    if len(args.runs) < 2 and not args.against:
        return _fail("compare: give at least two results folders (RUN_A RUN_B ...)")
    folders = [_run_folder(r) for r in args.runs]
    against = 0
    if args.against:
        ref = _run_folder(args.against).resolve()
        match = [i for i, f in enumerate(folders) if f.resolve() == ref]
        if not match:
            folders.insert(0, ref)
        against = match[0] if match else 0
    if len(folders) < 2:
        return _fail("compare: give at least two results folders (RUN_A RUN_B ...)")
    from glw_sim.runner import prepare_folder

    out = Path(args.out) if args.out else Path(args.results) / "compare" / datetime.now().strftime("%Y%m%d-%H%M%S")
    prepare_folder(out, "comparison folder", "--out")
    path = write_comparison(folders, out, against)
    print(f"comparison: {path}")
    return 0


def cmd_validation(args) -> int:
    from tqdm import tqdm

    from glw_sim.validation import run_validation

    with tqdm(total=args.months * args.replications, desc="validation", unit="month", disable=args.quiet,
              file=sys.stderr) as bar:
        folder, df = run_validation(Path(args.results), scale=args.scale, replications=args.replications,
                                    months=args.months, seed=args.seed, progress=bar.update)
    n, k = len(df), int(df["within"].sum())
    print(f"{k} of {n} checks within ({100 * k / n:.0f}%); "
          f"fitted targets {int(df[df['fitted']]['within'].sum())} of {int(df['fitted'].sum())}, "
          f"checks not fitted {int(df[~df['fitted']]['within'].sum())} of {int((~df['fitted']).sum())}")
    out = df[~df["within"]]
    if len(out):
        print("outside:")
        for _, r in out.iterrows():
            print(f"  {r['check']}: model {r['model']:.4g}, band {r['low']:.4g} to {r['high']:.4g}")
    print(f"report: {folder / 'validation.html'}\ntable: {folder / 'validation.csv'}")
    return 0


def cmd_calibrate(args) -> int:
    if args.programmes:
        from glw_sim.interventions.fit import fit_all

        for kind, rec in fit_all().items():
            par = f"achieve {rec['achieve']}" if "achieve" in rec else f"into-work multiplier {rec['into_work']}"
            rng = ", ".join(f"{lv} {100 * p['effect']:+.1f} pp: {p.get('achieve', p['into_work'])}"
                            for lv, p in rec.get("range", {}).items())
            print(f"{kind}: {par} gives {100 * rec['measured_effect']:.2f} pp (target {100 * rec['target_effect']:.1f}"
                  f" pp at {rec['follow_up_months']} months); {rng}")
        return 0
    from glw_sim.calibration import fit, fit_report_frame
    from glw_sim.fitted import default_fitted_path
    from glw_sim.io import atomic_write_text
    from glw_sim.targets import load_targets

    fitted = fit(load_targets(), scale=args.scale, seed=args.seed)
    out = Path(args.out) if args.out else default_fitted_path()
    fitted.save(out)
    rep = fit_report_frame(fitted)
    atomic_write_text(out.with_name("fit_report.csv"), rep.to_csv(index=False, float_format="%.5g"))
    print(rep.to_string(index=False))
    print(f"fitted parameters: {out}")
    return 0


def cmd_programmes(args) -> int:
    from glw_sim.interventions.catalogue import print_programmes

    print_programmes()
    return 0


def cmd_sweep(args) -> int:
    from tqdm import tqdm

    from glw_sim.sensitivity import run_sweep

    bar = None  # drawn from the first report of progress: after every check, so an error stays one line

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(desc="runs", unit="run", disable=args.quiet, file=sys.stderr, smoothing=0.1)
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        indices = run_sweep(args.sweep, out_dir=args.out, scheduler=args.scheduler, workers=args.workers,
                            progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if indices.empty:
        print("sweep incomplete; run the same command again to finish it")
        return 1
    with __import__("pandas").option_context("display.width", 160, "display.max_rows", 200):
        print(indices.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    from glw_sim.sweep import load_sweep

    folder = Path(args.out) / load_sweep(args.sweep)[0].name
    print(f"\nindices and charts: {folder}\nreport: {folder / 'report.html'}")
    return 0


def cmd_solve(args) -> int:
    from tqdm import tqdm

    from glw_sim.solve import finished, open_study, refined, run_trials
    from glw_sim.solvestages import run_refine
    from glw_sim.solveout import write_outputs

    def report(msg: str, months: int | None = None) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr)

    search = {k: v for k, v in (("scale", args.scale), ("replications", args.replications)) if v is not None}
    st = open_study(args.solve, Path(args.results), workers=args.workers, report=report,
                    search=search)  # the solve file is checked before any work
    total = args.trials or st.solve.search.trials
    done = len(finished(st.study))
    again = st.settings.get("refine", 0) if st.settings.get("coarse") else 0  # the second stage's
    if done and not args.quiet:
        print(f"resuming {st.solve.name}: {done} package(s) already evaluated"
              + (f", {len(refined(st))} re-evaluated at the default precision" if again else ""), file=sys.stderr)
    if again and not args.quiet:
        c = st.settings["coarse"]
        print(f"solve: {total} packages at scale {c['scale']:g} x {c['replications']} replications, then the "
              f"{again} most promising at scale {st.settings['scale']:g} x {st.settings['replications']}",
              file=sys.stderr)
    with tqdm(total=total + again, initial=min(done, total), desc="packages", unit="package", disable=args.quiet,
              file=sys.stderr) as bar:
        def progress(n: int, best: dict) -> None:
            bar.n = n
            if best:
                what = ("cheapest reaching" if best["reached"] else "best") + (
                    f" ({best['stage']})" if best.get("stage") != "default" else "")
                bar.set_postfix_str(f"{what}: trial {best['number']}, net {best['net']:,.0f}, "
                                    f"cost {best['cost'] / 1e6:,.1f}m, chance {100 * best['chance']:.0f}%")
            bar.refresh()

        from glw_sim.solve import ModelEvaluator

        evaluator = ModelEvaluator(args.workers, args.scheduler)
        try:
            run_trials(st, total, evaluator, progress)
            run_refine(st, evaluator, progress)
        except BaseException:
            evaluator.close()
            st.close()
            raise
    try:
        if not args.quiet:
            print("solve: writing the frontier, best.yaml and the report (the chosen package's attribution runs "
                  "once)", file=sys.stderr)
        rec = write_outputs(st, evaluator)
    finally:
        evaluator.close()
        st.close()
    if rec:
        o = rec["outcome"]
        head = ("cheapest package reaching the target" if rec["reached"] else
                "most the budget buys" if st.solve.objective != "least_cost" else
                f"target not reached within the bounds; most reached leaves a gap of {rec['remaining_gap']:,.0f} "
                "residents")
        print(f"{head}: trial {rec['trial']}, net extra in work {o['net']['mean']:,.0f} "
              f"({o['net']['low_95']:,.0f} to {o['net']['high_95']:,.0f}), cost {o['cost']['mean'] / 1e6:,.1f}m "
              f"({o['cost']['low_95'] / 1e6:,.1f}m to {o['cost']['high_95'] / 1e6:,.1f}m), chance of the target "
              f"{100 * rec['chance_of_target']:.0f}% (95% intervals: simulation noise and evidence)")
    print(f"\nfrontier: {st.folder / 'frontier.csv'}\nbest scenario: {st.folder / 'best.yaml'}\n"
          f"report: {st.folder / 'report.md'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from glw_sim.results import ResultsError
    from glw_sim.scenario import ScenarioError

    p = _Parser(prog="glw-sim", description="Agent-based labour-market simulator of London.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a scenario and write results and charts",
                       description="Run a scenario's replications and write results/<scenario>/<run-id>/ "
                                   "(report.html, summary.xlsx, summary.csv, timeseries.parquet, charts). The first "
                                   "run on a machine compiles the model once (a few minutes); later runs start in "
                                   "seconds.")
    r.add_argument("scenario", help="a scenario YAML file, e.g. scenarios/route-to-80.yaml")
    r.add_argument("--results", default="results", help="results folder (default: results)")
    r.add_argument("--scale", type=float, help="share of residents simulated, in (0, 1]; 1 = every Londoner "
                                               "(turns a stated precision off)")
    r.add_argument("--seed", type=int, help="seed of the first replication (same seed, same results)")
    r.add_argument("--months", type=int, help="months to simulate from the scenario's start (e.g. 60 to June 2030)")
    r.add_argument("--replications", type=int, help="independent replications (turns a stated precision off)")
    r.add_argument("--precision", type=_precision, metavar="REL,ABS",
                   help="choose scale and replications so every contribution is known to +/-REL (a share) or "
                        "+/-ABS residents, whichever is larger (95%%, simulation noise), e.g. 0.1,300; 'off' to "
                        "use the scenario's scale and replications")
    r.add_argument("--workers", type=_positive, default=None,
                   help="processes running replications side by side (default: 1)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)
    ex = sub.add_parser("explore", help="explore scenarios in the browser: switch programmes on and off, run, "
                                        "see the charts",
                        description="Serve the explorer on this machine (http://127.0.0.1:PORT/) and open it in "
                                    "the browser: start from a shipped scenario, switch programmes and integration "
                                    "hubs on and off, set places, areas, referral and employability levers, choose "
                                    "a precision, run (with progress; a run can be cancelled), see the employment "
                                    "path, the route to 80%, the borough map, costs and who gains with their 95% "
                                    "intervals, and download the scenario YAML and the results folder (zip). Each "
                                    "browser tab runs into its own folder under RESULTS/explore/. Ctrl-C stops it.")
    ex.add_argument("--port", type=_port, default=5006, help="port to serve on, on 127.0.0.1 only (default: 5006)")
    ex.add_argument("--no-browser", action="store_true", help="do not open a browser (print the address only)")
    ex.add_argument("--results", default="results", help="results folder (default: results; runs go to "
                                                          "results/explore/<session>/<scenario>/<run-id>)")
    ex.set_defaults(func=cmd_explore)
    rp = sub.add_parser("report", help="(re)write report.html, summary.xlsx and charts for a results folder (or a "
                                       "finished sweep's folder)")
    rp.add_argument("run", help="results/<scenario>/<run-id> (or results/<scenario> for its newest run), or a sweep's "
                                "folder, sweeps/out/<name>")
    rp.add_argument("--no-charts", action="store_true", help="reuse the charts already in the folder")
    rp.set_defaults(func=cmd_report)
    cp = sub.add_parser("compare", help="put several runs side by side in one report, with their differences",
                        description="Set runs side by side at each date every run reaches and at each horizon, with "
                                    "each run's difference from the first (or --against) and its 95%% interval: paired "
                                    "replication by replication where the runs share seeds, scale and start. Writes "
                                    "report.html, comparison.xlsx and comparison*.csv.")
    cp.add_argument("runs", nargs="+", help="results folders (run folders, or scenario folders for their newest run)")
    cp.add_argument("--against", metavar="RUN", help="the run the others' differences are taken from (default: the "
                                                     "first; a run not among RUNS is added to them)")
    cp.add_argument("--out", help="output folder (default: results/compare/<timestamp>)")
    cp.add_argument("--results", default="results", help="results folder for the default output")
    cp.set_defaults(func=cmd_compare)
    v = sub.add_parser("validate", help="check a scenario file")
    v.add_argument("scenario", help="a scenario YAML file")
    v.set_defaults(func=cmd_validate)
    vr = sub.add_parser("validation", help="run the no-change baseline and write the validation report "
                                           "(validation.html, validation.csv)")
    vr.add_argument("--results", default="results", help="results folder (default: results; the report goes to "
                                                          "results/validation/<run-id>)")
    vr.add_argument("--scale", type=_scale, default=0.2, help="share of residents simulated (default 0.2)")
    vr.add_argument("--replications", type=_positive, default=5, help="replications (default 5)")
    vr.add_argument("--months", type=_months, default=120, help="months of the drift checks (default 120)")
    vr.add_argument("--seed", type=int, default=20250601, help="seed of the first replication")
    vr.add_argument("--quiet", action="store_true", help="no progress bar")
    vr.set_defaults(func=cmd_validation)
    c = sub.add_parser("calibrate", help="fit the baseline to calibration/targets")
    c.add_argument("--scale", type=float, default=0.03, help="share of residents the fit simulates (default 0.03)")
    c.add_argument("--seed", type=int, default=20250601, help="seed of the fit (default 20250601)")
    c.add_argument("--out", help="where to write the fitted baseline (default calibration/fitted/baseline.json)")
    c.add_argument("--programmes", action="store_true", help="fit programme effects to their evidence instead")
    c.set_defaults(func=cmd_calibrate)
    pg = sub.add_parser("programmes", help="print every programme type's defaults with their evidence")
    pg.set_defaults(func=cmd_programmes)
    w = sub.add_parser("sweep", help="run (or resume) a sensitivity sweep")
    w.add_argument("sweep", help="a sweep YAML file, e.g. sweeps/baseline-uncertainty.yaml")
    w.add_argument("--scheduler", help="'local' for a Dask LocalCluster, or tcp://HOST:PORT (default: process pool)")
    w.add_argument("--workers", type=_positive, help="worker processes (default: all cores)")
    w.add_argument("--out", default="sweeps/out", help="sweep results folder (default: sweeps/out)")
    w.add_argument("--quiet", action="store_true", help="no progress bar")
    w.set_defaults(func=cmd_sweep)
    so = sub.add_parser("solve", help="search for the cheapest package that reaches a target (or resume one)",
                        description="Search the packages a solve file allows (Optuna, seeded; common random numbers "
                                    "across packages) for the least cost that reaches the target in the stated "
                                    "share of the evidence's draws, or the most net extra residents in work within "
                                    "a budget. Writes results/solve/<name>/: frontier.csv, frontier.png, best.yaml, "
                                    "solution.json, report.md and the study (study.db): run the same command again "
                                    "to resume, or with more --trials to search further.")
    so.add_argument("solve", help="a solve YAML file, e.g. solves/route-to-80.yaml")
    so.add_argument("--trials", type=_positive, help="packages to evaluate in all (default: the solve file's)")
    so.add_argument("--results", default="results", help="results folder (default: results)")
    so.add_argument("--scale", type=_scale, help="share of residents each evaluation simulates (instead of the "
                                                  "solve file's search.scale or the scenario's precision)")
    so.add_argument("--replications", type=_positive, help="replications of each evaluation (at least 2)")
    so.add_argument("--workers", type=_positive, default=None,
                    help="processes running each package's replications side by side (default: 1)")
    so.add_argument("--scheduler", help="'local' for a Dask LocalCluster of --workers processes, or tcp://HOST:PORT "
                                        "(default: a process pool, or this process)")
    so.add_argument("--quiet", action="store_true", help="no progress bar")
    so.set_defaults(func=cmd_solve)
    args = p.parse_args(argv)
    try:
        return args.func(args)
    except (ScenarioError, ResultsError) as exc:  # the user's to fix: one line, exit 2
        return _fail(str(exc))
    except OSError as exc:
        # a file or folder the user named that cannot be read or written (a full or read-only disk, a file
        # where a folder should be): one line; any other OSError is a bug and keeps its traceback
        from glw_sim.runner import user_write_error

        if exc.filename is None or not user_write_error(exc):
            raise
        return _fail(f"{exc.filename}: {exc.strerror or exc} (work already stored is kept)")
    except KeyboardInterrupt:
        if args.command in ("sweep", "solve"):
            return _fail("interrupted; the runs already finished are kept: run the same command to resume")
        return _fail("interrupted; no partial results were written")


if __name__ == "__main__":
    sys.exit(main())
