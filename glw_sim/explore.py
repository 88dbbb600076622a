"""The explorer's workings, apart from its page (:mod:`glw_sim.explore_app`): a shipped scenario turned into
editable settings and back into a validated :class:`~glw_sim.scenario.Scenario`, and a run in its own process
with progress and cancellation.

The settings an analyst can change are plain dataclasses (:class:`ProgrammeEdit`, :class:`HubEdit`,
:class:`LeverEdit`, :class:`RunEdit`); :func:`edit_scenario` writes them over the scenario's resolved mapping
and validates the result through the same schema as a YAML file (:func:`glw_sim.scenario.validate_scenario`), so
a bad input is the same one-line :class:`~glw_sim.scenario.ScenarioError`. A :class:`Job` runs
:func:`glw_sim.pipeline.run_scenario` in a spawned process (the page's server stays responsive, and a cancelled
run is stopped at once: the process is asked to stop, which unwinds the run and removes any half-written
folder, and is killed if it does not). Each browser session runs into its own results folder
(:func:`session_folder`), so two tabs never write over each other's runs.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import queue
import secrets
import signal
import sys
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from glw_sim.geography import load_geography
from glw_sim.interventions.defaults import DEFAULTS, with_defaults
from glw_sim.paths import REPO_DIR
from glw_sim.scenario import MAX_TEXT, Scenario, ScenarioError, load_scenario, validate_scenario

SCENARIO_DIR = REPO_DIR / "scenarios"
#: the programme types an analyst can switch on (the built-in ones; 'generic' has no defaults to start from)
PROGRAMME_TYPES = tuple(DEFAULTS)
#: area choices besides borough names
ALL_LONDON = "All London"
SRP_PREFIX, ICB_PREFIX = "SRP: ", "ICB: "
#: the precision choices (the same options as ``glw-sim run --precision``)
PRECISION_MODES = ("scenario", "custom", "off")


def shipped_scenarios(folder: Path = SCENARIO_DIR) -> dict[str, Path]:
    """The shipped scenario files by file name (``route-to-80.yaml`` -> its path), sorted."""
    return {p.name: p for p in sorted(Path(folder).glob("*.yaml"))}


# ---------------------------------------------------------------------------- areas
def area_choices() -> list[str]:
    """Every choice of area: all of London, each sub-regional partnership and ICB, each borough."""
    geo = load_geography()
    return ([ALL_LONDON] + [SRP_PREFIX + s for s in geo.srps] + [ICB_PREFIX + s for s in geo.icbs]
            + sorted(geo.names))


def areas_to_choices(areas: dict) -> list[str]:
    """A scenario's ``areas`` mapping as area choices."""
    if areas.get("all"):
        return [ALL_LONDON]
    return ([SRP_PREFIX + s for s in areas.get("srp", [])] + [ICB_PREFIX + s for s in areas.get("icb", [])]
            + list(areas.get("boroughs", [])))


def choices_to_areas(choices: list[str]) -> dict:
    """Area choices as a scenario's ``areas`` mapping (empty when nothing is chosen: the schema says so)."""
    if ALL_LONDON in choices:
        return {"all": True}
    out: dict[str, list[str]] = {"boroughs": [], "srp": [], "icb": []}
    for c in choices:
        if c.startswith(SRP_PREFIX):
            out["srp"].append(c[len(SRP_PREFIX):])
        elif c.startswith(ICB_PREFIX):
            out["icb"].append(c[len(ICB_PREFIX):])
        else:
            out["boroughs"].append(c)
    return {k: v for k, v in out.items() if v}


# ---------------------------------------------------------------------------- settings
@dataclass
class ProgrammeEdit:
    """One programme's switch and levers."""

    spec: dict  # the full resolved entry (type's defaults merged), kept for everything not edited here
    on: bool
    places_per_year: float
    areas: list[str]
    referral_multiplier: float
    start: str

    @property
    def label(self) -> str:
        return self.spec.get("name") or self.spec["type"]

    @classmethod
    def from_spec(cls, spec: dict, on: bool = True) -> ProgrammeEdit:
        return cls(dict(spec), on, float(spec["places_per_year"]), areas_to_choices(spec.get("areas", {})),
                   float(spec.get("referral_multiplier", 1.0)), str(spec.get("start", "2025-06")))

    def to_spec(self) -> dict:
        return {**self.spec, "places_per_year": self.places_per_year, "areas": choices_to_areas(self.areas),
                "referral_multiplier": self.referral_multiplier, "start": self.start}


@dataclass
class HubEdit:
    """The integration hubs (No Wrong Door): one switch for all of them, their areas and multipliers (a scenario
    with several hub entries keeps them as they are until one of these is changed; then they become one)."""

    spec: dict
    on: bool
    areas: list[str]
    referral_multiplier: float
    take_up_multiplier: float
    start: str
    original: list[dict] = field(default_factory=list)

    @classmethod
    def from_scenario(cls, hubs: list[dict]) -> HubEdit:
        if hubs:
            h = hubs[0]
            areas = list(dict.fromkeys(c for hub in hubs for c in areas_to_choices(hub["areas"])))
            return cls(dict(h), True, areas, float(h["referral_multiplier"]), float(h["take_up_multiplier"]),
                       str(h["start"]), [dict(x) for x in hubs])
        return cls({}, False, [], 1.5, 1.2, "2026-04")

    def to_hubs(self) -> list[dict]:
        if not self.on:
            return []
        if self.original and self == HubEdit.from_scenario(self.original):
            return [dict(x) for x in self.original]
        return [{**self.spec, "areas": choices_to_areas(self.areas), "referral_multiplier": self.referral_multiplier,
                 "take_up_multiplier": self.take_up_multiplier, "start": self.start}]


def who_to_text(who: dict) -> str:
    """An employability lever's ``who`` as text: ``health=disabled; state=inactive,unemployed``."""
    return "; ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in who.items())


def text_to_who(text: str) -> dict:
    """The reverse of :func:`who_to_text`; a malformed part is a one-line :class:`ScenarioError`."""
    out: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise ScenarioError(f"employability: {part!r}: expected attribute=value, e.g. health=disabled")
        values = [v.strip() for v in value.split(",") if v.strip()]
        out[key.strip()] = values if len(values) > 1 else values[0]
    return out


@dataclass
class LeverEdit:
    """One employability lever (multiply chosen residents' monthly chance of moving into work)."""

    on: bool
    who: str
    multiplier: float
    start: str | None = None


@dataclass
class RunEdit:
    """Name, horizon, seed and precision (``glw-sim run``'s options)."""

    name: str
    months: int
    seed: int
    precision: str  # one of PRECISION_MODES
    relative: float
    absolute: float
    scale: float
    replications: int
    stated: dict | None = None  # the scenario's own precision block


@dataclass
class Settings:
    base: dict  # the scenario's resolved mapping
    source: str  # where it came from (for messages)
    programmes: list[ProgrammeEdit]
    hubs: HubEdit
    levers: list[LeverEdit]
    run: RunEdit


def settings_from(path: Path) -> Settings:
    """A shipped scenario as settings: its programmes on, every other built-in type off at its defaults."""
    sc = load_scenario(path)
    data = sc.model_dump(mode="json")
    progs = [ProgrammeEdit.from_spec(p) for p in data["interventions"]]
    present = {p.spec["type"] for p in progs}
    progs += [ProgrammeEdit.from_spec(with_defaults({"type": t}), on=False) for t in PROGRAMME_TYPES
              if t not in present]
    levers = [LeverEdit(True, who_to_text(e["who"]), float(e["multiplier"]), e.get("start")) for e in data["employability"]]
    levers.append(LeverEdit(False, "health=disabled", 1.5, None))  # a spare lever, off, to switch on
    prec = data.get("precision")
    run = RunEdit(name=data["name"], months=int(data["horizon"]["months"]), seed=int(data["population"]["seed"]),
                  precision="scenario" if prec else "off",
                  relative=float(prec["relative"]) if prec else 0.10, absolute=float(prec["absolute"]) if prec else 300.0,
                  scale=float(data["population"]["scale"]), replications=int(data["replications"]), stated=prec)
    return Settings(data, Path(path).name, progs, HubEdit.from_scenario(data["integration_hubs"]), levers, run)


def scenario_data(s: Settings) -> dict:
    """The settings written over the scenario's mapping (not yet validated)."""
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in s.base.items()}
    progs = [p.to_spec() for p in s.programmes if p.on]
    data["interventions"] = progs
    data["integration_hubs"] = s.hubs.to_hubs()
    data["employability"] = [{"who": text_to_who(lv.who), "multiplier": lv.multiplier,
                              **({"start": lv.start} if lv.start else {})} for lv in s.levers if lv.on]
    r = s.run
    data["name"] = r.name
    data["horizon"] = {**data["horizon"], "months": r.months}
    data["population"] = {**data["population"], "seed": r.seed}
    if r.precision == "scenario":
        data["precision"] = r.stated
    elif r.precision == "custom":
        data["precision"] = {**(r.stated or {}), "relative": r.relative, "absolute": r.absolute}
    else:
        data["precision"] = None
        data["population"]["scale"] = r.scale
        data["replications"] = r.replications
    return data


def edit_scenario(s: Settings) -> Scenario:
    """The settings as a validated scenario; a bad input is one :class:`ScenarioError` line naming the field.
    When its programmes, hubs or levers differ from the shipped scenario's, its description (which the report's
    and the page's opening paragraph quote) says what the edited package is, rather than the shipped one."""
    sc = validate_scenario(scenario_data(s), f"{s.source} (as edited)")
    parts = ("interventions", "integration_hubs", "employability")
    shipped = validate_scenario(s.base, s.source)
    if any(getattr(sc, k) != getattr(shipped, k) for k in parts):
        sc = sc.model_copy(update={"description": describe_package(sc, s.source)[:MAX_TEXT]})
    return sc


def _where(areas) -> str:
    if areas.all:
        return "in all London"
    named = [*areas.boroughs, *areas.srp, *areas.icb]
    return "in " + (", ".join(named) if len(named) <= 3 else f"{len(named)} areas")


def describe_package(sc: Scenario, source: str) -> str:
    """One sentence naming each part of an edited scenario with its places, referral, areas and start."""
    from glw_sim.labels import programme_label

    said = []
    for p in sc.interventions:
        referral = f", referrals x{p.referral_multiplier:g}" if p.referral_multiplier != 1 else ""
        said.append(f"{programme_label(p.name or p.type)} with {p.places_per_year:,.0f} places a year{referral}, "
                    f"{_where(p.areas)}, from {p.start}")
    said += [f"integration hubs {_where(h.areas)} from {h.start}" for h in sc.integration_hubs]
    said += [f"an employability lever for {who_to_text(e.who)}, chance into work x{e.multiplier:g}"
             for e in sc.employability]
    return f"edited in the explorer from {source}: " + ("; ".join(said) if said else "no programmes") + "."


def scenario_yaml(sc: Scenario) -> str:
    """A scenario as a self-contained YAML file (every default written out, no ``extends:``), which
    ``glw-sim validate`` and ``glw-sim run`` accept as it is."""
    head = f"# {sc.name}: written by glw-sim explore on {datetime.now():%Y-%m-%d %H:%M}\n"
    return head + yaml.safe_dump(sc.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100)


#: places "never ran short" while the caseload stays under this share of them and the waiting list under
#: ``SPARE_WAITING`` of them (residents held on a list while in another programme wait with places free)
SPARE_USE, SPARE_WAITING = 0.9, 0.02


def places_to_spare(res) -> list[str]:
    """A sentence for each programme of a run whose places never ran short: in no month of any replication did
    its caseload reach 90% of its places or its waiting list 2% of them. Raising its places changes nothing
    there (its referrals set how many start), which an analyst who has just raised them should be told rather
    than left to read the unchanged result as the programme's."""
    from glw_sim.labels import programme_label

    out = []
    for p in res.programmes():
        places, used, waiting = (res.london(f"programme.{p}.{m}") for m in ("capacity", "participants", "waiting"))
        if not (len(places) and len(used) and len(waiting)):
            continue
        cap = float(places.to_numpy().max())
        peak = float(used.to_numpy().max())
        if cap <= 0 or peak >= SPARE_USE * cap or waiting.to_numpy().max() >= SPARE_WAITING * cap:
            continue
        out.append(f"{programme_label(p)}: its places never ran short (at most {peak:,.0f} of its {cap:,.0f} "
                   f"places in use in any month, {100 * peak / cap:.0f}%). Its referrals set how many start, so "
                   "more places change nothing here; a higher referral multiplier, wider areas or a longer run "
                   "would.")
    return out


def zip_folder(folder: Path) -> bytes:
    """A results folder as a zip archive (its files under ``<run-id>/``)."""
    folder = Path(folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts):
                z.write(p, Path(folder.name) / p.relative_to(folder))
    return buf.getvalue()


def session_folder(results_root: Path) -> Path:
    """A results folder of one's own for a browser session: ``<results>/explore/<time>-<random>``."""
    return Path(results_root) / "explore" / f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"


# ---------------------------------------------------------------------------- runs
def _stop(signum, frame):
    raise KeyboardInterrupt


def _worker(scenario: dict, results_dir: str, out) -> None:
    """The run, in its own process: messages to ``out`` are ('total', n), ('progress', done), ('message', text),
    ('done', folder), ('cancelled', None) or ('error', one line)."""
    signal.signal(signal.SIGTERM, _stop)  # a cancel unwinds the run (its half-written folder is removed)
    try:
        from glw_sim.firstrun import compiled_marker as _compiled_marker
        from glw_sim.firstrun import mark_compiled as _mark_compiled
        from glw_sim.pipeline import run_scenario
        from glw_sim.results import ResultsError

        sc = Scenario.model_validate(scenario)
        try:
            marker = _compiled_marker()
        except OSError:
            marker = None
        if marker is not None and not marker.exists():
            out.put(("message", "compiling the model (the first run of this version on this machine only; a few "
                                "minutes): the progress bar moves once it is done"))
        done, last = 0, 0.0
        out.put(("total", sc.horizon.months * sc.replications))

        def progress() -> None:
            nonlocal done, last
            done += 1
            now = time.monotonic()
            if now - last > 0.2:
                last = now
                out.put(("progress", done))

        def report(msg: str, months: int | None = None) -> None:
            nonlocal done
            out.put(("message", msg))
            if months is not None:
                done = 0
                out.put(("total", months))

        try:
            res = run_scenario(sc, Path(results_dir), progress=progress, report=report,
                               argv=["glw-sim", "explore"])
        except (ScenarioError, ResultsError) as exc:
            out.put(("error", " ".join(str(exc).split())))
            return
        _mark_compiled(marker)
        out.put(("progress", done))
        out.put(("done", str(res.folder)))
    except KeyboardInterrupt:
        out.put(("cancelled", None))
    except Exception as exc:  # a bug: one line for the page, the traceback for the server's log
        if _interrupted(exc):  # a cancel that landed inside a compiled pass's call back into Python
            out.put(("cancelled", None))
            return
        import traceback

        traceback.print_exc(file=sys.stderr)
        out.put(("error", f"the run failed ({type(exc).__name__}: {' '.join(str(exc).split())[:300]}); the "
                          "traceback is in the explorer's log"))


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` was caused by a cancel's KeyboardInterrupt (numba reports one raised while a compiled
    function was calling back into Python as a SystemError caused by it)."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@dataclass
class Job:
    """One run in its own process. :meth:`poll` reads its messages; :meth:`cancel` stops it."""

    scenario: Scenario
    results_dir: Path
    state: str = "running"  # running | done | cancelled | error
    done: int = 0
    total: int = 0
    messages: list[str] = field(default_factory=list)
    folder: Path | None = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self):
        ctx = mp.get_context("spawn")  # (never fork a server with threads)
        self._queue = ctx.Queue()
        self._proc = ctx.Process(target=_worker, args=(self.scenario.model_dump(mode="json"), str(self.results_dir),
                                                       self._queue), daemon=True, name="glw-sim-explore-run")
        self._proc.start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def _drain(self) -> None:
        while True:
            try:
                kind, value = self._queue.get_nowait()
            except (queue.Empty, EOFError, OSError):
                return
            if kind == "total":
                self.total, self.done = int(value), 0
            elif kind == "progress":
                self.done = int(value)
            elif kind == "message":
                self.messages.append(str(value))
            elif kind == "done":
                self.state, self.folder = "done", Path(value)
            elif kind == "cancelled":
                self.state = "cancelled"
            elif kind == "error":
                self.state, self.error = "error", str(value)

    def poll(self) -> str:
        """Read what the run has said; returns its state."""
        if self.state != "running":
            return self.state
        self._drain()
        if self.state == "running" and not self._proc.is_alive():
            self._proc.join(1)
            self._drain()
            if self.state == "running":
                self.state = "error"
                self.error = f"the run stopped unexpectedly (exit code {self._proc.exitcode}); nothing was kept"
        if self.state != "running":
            self._proc.join(5)
        return self.state

    def cancel(self, wait: float = 10.0) -> None:
        """Stop the run: asked first (it removes what it had begun to write), killed if it does not stop."""
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(wait)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(5)
        self._drain()
        if self.state == "running" or self.state == "cancelled":
            self.state = "cancelled"

    @property
    def alive(self) -> bool:
        return self._proc.is_alive()

    def elapsed(self) -> float:
        return time.monotonic() - self.started
