"""``glw-sim explore``: the explorer's page, a Panel app served on this machine only (127.0.0.1).

An analyst picks a shipped scenario, switches programmes and the integration hubs on and off, sets their places,
areas, referral and start, and the employability levers, chooses a precision, runs, and sees the run's own
charts and tables: the employment path against 80% and the path needed, the route to 80%, the borough map,
the cost per net extra job and per employment-year, and who gains, every figure with its 95% interval. The
scenario (as a YAML file) and the results folder (as a zip) can be downloaded.

Presentation only: settings and runs are :mod:`glw_sim.explore`'s, every figure and chart is the results
folder's (:mod:`glw_sim.results`, :mod:`glw_sim.charts`, :mod:`glw_sim.report`), drawn by the same code as
``glw-sim run``. Each browser session (tab) has its own results folder and its own run. Panel serves its
JavaScript and CSS itself and the charts are inlined: the page makes no request off this machine.
"""

from __future__ import annotations

import html
import io
import re
import sys
from pathlib import Path

import panel as pn

from glw_sim.explore import (PRECISION_MODES, Job, LeverEdit, ProgrammeEdit, Settings, area_choices, edit_scenario,
                             places_to_spare, scenario_yaml, session_folder, settings_from, shipped_scenarios,
                             zip_folder)
from glw_sim.labels import GROUP_LABELS, fmt_level, programme_label
from glw_sim.scenario import ScenarioError, hub_warnings

DEFAULT_SCENARIO = "health-package-2030.yaml"
#: the charts shown, in order: (file stem in <run>/charts, heading)
CHARTS = [("employment_rate_trajectory", "Employment path against 80% and the path needed"),
          ("route_to_80", "The route to 80%"),
          ("borough_map", "Borough map"),
          ("cost_per_job", "Cost per net extra job"),
          ("who_gains", "Who gains")]
PRECISION_LABELS = {"As the scenario states": "scenario", "Custom precision": "custom",
                    "Off: the scale and replications below": "off"}
assert set(PRECISION_LABELS.values()) == set(PRECISION_MODES)

CSS = """
.glw-cards{display:flex;flex-wrap:wrap;gap:10px;margin:4px 0 10px 0;font-family:sans-serif}
.glw-card{flex:1 1 170px;border:1px solid #ccc;border-left:6px solid #0072B2;border-radius:4px;padding:8px 10px;
 background:#f7f9fb}
.glw-card .label{font-size:.82em;color:#444} .glw-card .value{font-size:1.5em;font-weight:bold}
.glw-card .detail{font-size:.78em;color:#555}
table.glw{border-collapse:collapse;font-family:sans-serif;font-size:.85em;margin:4px 0 12px 0}
table.glw th,table.glw td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}
table.glw th:first-child,table.glw td:first-child{text-align:left}
table.glw th{background:#f0f3f6}
.glw-note{font-size:.82em;color:#444;font-family:sans-serif}
"""


def _html(text: str, **kw) -> pn.pane.HTML:
    """An HTML pane with the explorer's styles (each pane is its own shadow DOM: styles do not cross)."""
    return pn.pane.HTML(text, stylesheets=[CSS], **kw)


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", label)


class ProgrammeControls:
    """One programme's switch and levers."""

    def __init__(self, edit: ProgrammeEdit, choices: list[str]):
        self.edit = edit
        slug = _slug(edit.label)
        self.on = pn.widgets.Checkbox(name=f"{programme_label(edit.label)}", value=edit.on,
                                      css_classes=[f"prog-{slug}-on"], margin=(8, 5, 0, 5))
        self.places = pn.widgets.FloatInput(name="Places a year", value=edit.places_per_year, step=1000, width=120,
                                            css_classes=[f"prog-{slug}-places"])
        self.referral = pn.widgets.FloatInput(name="Referral x", value=edit.referral_multiplier, step=0.1, width=80,
                                              css_classes=[f"prog-{slug}-referral"])
        self.start = pn.widgets.TextInput(name="Start", value=edit.start, width=95, css_classes=[f"prog-{slug}-start"])
        self.areas = pn.widgets.MultiChoice(name="Areas", options=choices, value=list(edit.areas), width=330,
                                            css_classes=[f"prog-{slug}-areas"])
        self.widgets = [self.on, self.places, self.referral, self.start, self.areas]
        self.view = pn.Column(self.on, pn.Row(self.places, self.referral, self.start), self.areas,
                              styles={"border-bottom": "1px solid #e3e3e3"}, margin=(0, 0, 4, 0))

    def read(self) -> ProgrammeEdit:
        e = self.edit
        return ProgrammeEdit(e.spec, bool(self.on.value), self.places.value, list(self.areas.value),
                             self.referral.value, (self.start.value or "").strip())


class LeverControls:
    def __init__(self, lever: LeverEdit, i: int):
        self.lever = lever
        self.on = pn.widgets.Checkbox(name=f"Employability lever {i + 1}", value=lever.on, css_classes=[f"lever-{i}-on"])
        self.who = pn.widgets.TextInput(name="Who (attribute=value; ...)", value=lever.who, width=220,
                                        css_classes=[f"lever-{i}-who"])
        self.multiplier = pn.widgets.FloatInput(name="Chance into work x", value=lever.multiplier, step=0.1,
                                                width=110, css_classes=[f"lever-{i}-multiplier"])
        self.widgets = [self.on, self.who, self.multiplier]
        self.view = pn.Column(self.on, pn.Row(self.who, self.multiplier))

    def read(self) -> LeverEdit:
        return LeverEdit(bool(self.on.value), self.who.value or "", self.multiplier.value, self.lever.start)


class Explorer:
    """One browser session: its settings, its run and its results folder."""

    def __init__(self, results_root: Path):
        self.folder = session_folder(results_root)
        self.scenarios = shipped_scenarios()
        self.job: Job | None = None
        self.run_folder: Path | None = None
        self._callback = None
        self.settings: Settings | None = None
        self._choices = area_choices()
        self._loading = False

        first = DEFAULT_SCENARIO if DEFAULT_SCENARIO in self.scenarios else next(iter(self.scenarios))
        self.pick = pn.widgets.Select(name="Start from a shipped scenario", options=list(self.scenarios), value=first,
                                      width=330, css_classes=["scenario-pick"])
        self.pick.param.watch(lambda e: self.load(e.new), "value")
        self.name = pn.widgets.TextInput(name="Name (names the results folder)", width=330, css_classes=["run-name"])
        self.programmes_box = pn.Column()
        self.hub_on = pn.widgets.Checkbox(name="Integration hubs (No Wrong Door)", css_classes=["hubs-on"])
        self.hub_areas = pn.widgets.MultiChoice(name="Hub areas", options=self._choices, width=330,
                                                css_classes=["hubs-areas"])
        self.hub_referral = pn.widgets.FloatInput(name="Referral x", step=0.1, width=100, css_classes=["hubs-referral"])
        self.hub_take_up = pn.widgets.FloatInput(name="Take-up x", step=0.1, width=100, css_classes=["hubs-take-up"])
        self.hub_start = pn.widgets.TextInput(name="Start", width=95, css_classes=["hubs-start"])
        self.levers_box = pn.Column()
        self.months = pn.widgets.IntInput(name="Months to simulate", width=130, css_classes=["run-months"])
        self.seed = pn.widgets.IntInput(name="Seed", width=110, css_classes=["run-seed"])
        self.precision = pn.widgets.RadioBoxGroup(options=PRECISION_LABELS, css_classes=["run-precision"])
        self.relative = pn.widgets.FloatInput(name="Relative (share)", step=0.01, width=110,
                                              css_classes=["run-relative"])
        self.absolute = pn.widgets.FloatInput(name="or residents", step=50, width=110, css_classes=["run-absolute"])
        self.scale = pn.widgets.FloatInput(name="Scale (share simulated)", step=0.001, width=150,
                                           css_classes=["run-scale"])
        self.replications = pn.widgets.IntInput(name="Replications", width=110, css_classes=["run-replications"])

        self.run_button = pn.widgets.Button(name="Run", button_type="primary", width=100, css_classes=["run-button"])
        self.cancel_button = pn.widgets.Button(name="Cancel", button_type="danger", width=100, disabled=True,
                                               css_classes=["cancel-button"])
        self.run_button.on_click(lambda e: self.start())
        self.cancel_button.on_click(lambda e: self.cancel())
        self.yaml_download = pn.widgets.FileDownload(callback=self._yaml_file, filename="scenario.yaml",
                                                     label="Download scenario YAML", button_type="default",
                                                     width=210, css_classes=["yaml-download"])
        self.zip_download = pn.widgets.FileDownload(callback=self._zip_file, filename="results.zip",
                                                    label="Download results (zip)", button_type="default", width=210,
                                                    disabled=True, css_classes=["zip-download"])
        self.progress = pn.indicators.Progress(value=0, max=1, width=420, visible=False, css_classes=["run-progress"])
        self.status = _html("", css_classes=["run-status"], width=700)
        self.error = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["input-error"], width=700)
        self.warning = pn.pane.Alert("", alert_type="warning", visible=False, css_classes=["input-warning"], width=700)
        self.stale_note = _html("<p class='glw-note' id='stale-note'><b>The results below are the previous "
                                "run's</b>; this run's replace them when it is done.</p>", visible=False)
        self.results = pn.Column(_html("<p class='glw-note'>Set the scenario on the left and press Run. "
                                              "Every figure is shown with its 95% interval.</p>"),
                                 css_classes=["results"], sizing_mode="stretch_width")
        for w in (self.name, self.hub_on, self.hub_areas, self.hub_referral, self.hub_take_up, self.hub_start,
                  self.months, self.seed, self.precision, self.relative, self.absolute, self.scale,
                  self.replications):
            w.param.watch(self._changed, "value")
        self.load(first)

    # ------------------------------------------------------------------ settings
    def load(self, file: str) -> None:
        """Fill the controls from a shipped scenario."""
        try:
            s = settings_from(self.scenarios[file])
        except ScenarioError as exc:
            self._show_error(str(exc))
            return
        self._loading = True
        try:
            self.settings = s
            self.name.value = s.run.name
            self.prog_controls = [ProgrammeControls(p, self._choices) for p in s.programmes]
            self.programmes_box.objects = [c.view for c in self.prog_controls]
            h = s.hubs
            self.hub_on.value, self.hub_areas.value = h.on, list(h.areas)
            self.hub_referral.value, self.hub_take_up.value, self.hub_start.value = (h.referral_multiplier,
                                                                                     h.take_up_multiplier, h.start)
            self.lever_controls = [LeverControls(lv, i) for i, lv in enumerate(s.levers)]
            self.levers_box.objects = [c.view for c in self.lever_controls]
            r = s.run
            self.months.value, self.seed.value = r.months, r.seed
            self.precision.value = r.precision
            self.relative.value, self.absolute.value = r.relative, r.absolute
            self.scale.value, self.replications.value = r.scale, r.replications
            for c in self.prog_controls + self.lever_controls:
                for w in c.widgets:
                    w.param.watch(self._changed, "value")
        finally:
            self._loading = False
        self._changed()

    def read(self) -> Settings:
        """The settings as the controls show them."""
        s = self.settings
        hubs = type(s.hubs)(s.hubs.spec, bool(self.hub_on.value), list(self.hub_areas.value), self.hub_referral.value,
                            self.hub_take_up.value, (self.hub_start.value or "").strip(), s.hubs.original)
        run = type(s.run)(name=(self.name.value or "").strip(), months=self.months.value, seed=self.seed.value,
                          precision=self.precision.value, relative=self.relative.value, absolute=self.absolute.value,
                          scale=self.scale.value, replications=self.replications.value, stated=s.run.stated)
        return Settings(s.base, s.source, [c.read() for c in self.prog_controls], hubs,
                        [c.read() for c in self.lever_controls], run)

    def scenario(self):
        """The edited scenario, validated (:class:`ScenarioError` on a bad input)."""
        return edit_scenario(self.read())

    def _show_error(self, msg: str) -> None:
        self.error.object = " ".join(str(msg).split())  # one line
        self.error.visible = bool(msg)

    def _changed(self, *events) -> None:
        """Validate on every change: a bad input is one line in the page, and nothing can run until it is fixed."""
        if self._loading:
            return
        custom, off = self.precision.value == "custom", self.precision.value == "off"
        self.relative.disabled = self.absolute.disabled = not custom
        self.scale.disabled = self.replications.disabled = not off
        try:
            sc = self.scenario()
        except ScenarioError as exc:
            self._show_error(str(exc))
            self.run_button.disabled = True
            self.yaml_download.disabled = True
            self.warning.visible = False
            return
        self._show_error("")
        self.yaml_download.filename = f"{sc.name}.yaml"
        self.yaml_download.disabled = False
        self.run_button.disabled = self.job is not None and self.job.state == "running"
        warns = hub_warnings(sc, "hubs")
        self.warning.object = " ".join(w.split(": ", 1)[-1] for w in warns)
        self.warning.visible = bool(warns)

    def _yaml_file(self):
        try:
            return io.BytesIO(scenario_yaml(self.scenario()).encode())
        except ScenarioError as exc:
            self._show_error(str(exc))
            return io.BytesIO(f"# not a valid scenario: {exc}\n".encode())

    def _zip_file(self):
        if self.run_folder is None:
            return io.BytesIO(b"")
        return io.BytesIO(zip_folder(self.run_folder))

    # ------------------------------------------------------------------ runs
    def start(self) -> None:
        if self.job is not None and self.job.state == "running":
            return
        try:
            sc = self.scenario()
        except ScenarioError as exc:
            self._show_error(str(exc))
            return
        self.job = Job(sc, self.folder)
        self.run_button.disabled = True
        self.cancel_button.disabled = False
        self.zip_download.disabled = True
        self.progress.value, self.progress.max, self.progress.visible = 0, 1, True
        self._stale(True)  # the figures below are the last run's until this one is done
        self.status.object = (f"<span id='run-state'>running</span>: {html.escape(sc.name)}, starting (a process of "
                              "its own: a few seconds)")
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.poll, period=300)

    def cancel(self) -> None:
        if self.job is None or self.job.state != "running":
            return
        self.status.object = "<span id='run-state'>cancelling</span>"
        self.job.cancel()
        self.poll()

    def poll(self) -> None:
        job = self.job
        if job is None:
            return
        state = job.poll()
        if job.total:
            self.progress.max = max(job.total, 1)
            self.progress.value = min(job.done, job.total)
        said = html.escape(job.messages[-1]) if job.messages else ""
        if state == "running":
            if job.total:
                then = "; writing the charts, report and workbook" if job.done >= job.total else ""
                self.status.object = (f"<span id='run-state'>running</span>: {job.done:,} of {job.total:,} "
                                      f"replication-months{then}, {job.elapsed():.0f} s"
                                      + (f"<br>{said}" if said else ""))
            return
        self._stop_polling()
        self.cancel_button.disabled = True
        self.progress.visible = False
        self._changed()
        if state != "done":
            self._stale(False)  # (cancelled or failed: the last run's figures stand, and are its own)
        if state == "done":
            seconds = job.elapsed()
            self.status.object = "<span id='run-state'>loading</span>: reading the results folder"

            def finish() -> None:  # (next tick: the page shows "loading" meanwhile)
                try:
                    self.show_results(job.folder)
                except Exception as exc:  # a bug: one line here, the traceback in the server's log
                    import traceback

                    traceback.print_exc()
                    self._stale(False)
                    self.status.object = (f"<span id='run-state'>failed</span>: the results could not be shown "
                                          f"({html.escape(type(exc).__name__)}); they are in "
                                          f"<code>{html.escape(str(job.folder))}</code>")
                    return
                self.run_folder = job.folder
                self.zip_download.filename = f"{job.folder.name}.zip"
                self.zip_download.disabled = False
                self.status.object = (f"<span id='run-state'>done</span> in {seconds:.0f} s: "
                                      f"<code id='run-folder'>{html.escape(str(job.folder))}</code>")

            pn.state.curdoc.add_next_tick_callback(finish)
        elif state == "cancelled":
            self.status.object = "<span id='run-state'>cancelled</span>: the run was stopped; nothing was kept"
        else:
            self.status.object = f"<span id='run-state'>failed</span>: {html.escape(job.error or '')}"

    def _stop_polling(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    def close(self) -> None:
        """The session ended (tab closed): stop its run."""
        self._stop_polling()
        if self.job is not None and self.job.state == "running":
            self.job.cancel(wait=5)

    # ------------------------------------------------------------------ results
    def show_results(self, folder: Path) -> None:
        from glw_sim.results import load_results

        res = load_results(folder)
        self.results.objects = results_view(res)
        self._stale(False)

    def _stale(self, stale: bool) -> None:
        """Dim the results while a new run is under way (they are the previous run's), with a line saying so."""
        self.results.styles = {"opacity": "0.4" if stale else "1"}
        self.stale_note.visible = stale

    def view(self):
        sidebar = pn.Column(
            self.pick, self.name,
            _html("<b>Programmes</b> <span class='glw-note'>(switch on, set places a year, areas, referral "
                         "multiplier and start month, YYYY-MM)</span>", margin=(10, 5, 0, 5)),
            self.programmes_box,
            _html("<b>Integration hubs</b>", margin=(10, 5, 0, 5)), self.hub_on,
            pn.Row(self.hub_referral, self.hub_take_up, self.hub_start), self.hub_areas,
            _html("<b>Employability levers</b> <span class='glw-note'>(e.g. health=disabled; "
                         "state=inactive)</span>", margin=(10, 5, 0, 5)), self.levers_box,
            _html("<b>Run</b>", margin=(10, 5, 0, 5)), pn.Row(self.months, self.seed),
            _html("<span class='glw-note'>Precision: each contribution to &plusmn;relative or &plusmn;residents, "
                         "whichever is larger (95%, simulation noise)</span>", margin=(0, 5)),
            self.precision, pn.Row(self.relative, self.absolute), pn.Row(self.scale, self.replications),
            width=380, scroll=True, height=880, styles={"background": "#fafafa", "border-right": "1px solid #ddd"})
        top = pn.Column(
            pn.Row(self.run_button, self.cancel_button, self.yaml_download, self.zip_download),
            self.progress, self.status, self.error, self.warning, self.stale_note)
        head = _html(
            "<div style='font-family:sans-serif'><span style='font-size:1.4em;font-weight:bold'>glw-sim explorer"
            "</span> <span class='glw-note'>Routes to an 80% employment rate in London. This session's results: "
            f"<code id='session-folder'>{html.escape(str(self.folder))}</code></span></div>",
            sizing_mode="stretch_width")
        main = pn.Column(top, self.results, sizing_mode="stretch_width")
        return pn.Column(head, pn.Row(sidebar, main, sizing_mode="stretch_width"), sizing_mode="stretch_width")


# ---------------------------------------------------------------------------- results, from the folder
def _cards(res) -> str:
    from glw_sim.report import headline_cards

    return "<div class='glw-cards'>" + "".join(
        f"<div class='glw-card' id='{c['id']}'><div class='label'>{html.escape(c['label'])}</div>"
        f"<div class='value'>{html.escape(c['value'])}</div><div class='detail'>{html.escape(c['detail'])}</div>"
        "</div>" for c in headline_cards(res)) + "</div>"


def _table(header: list[str], rows: list[list[str]], ident: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table class='glw' id='{ident}'><tr>{head}</tr>{body}</table>"


def _costs(res) -> str:
    """What each part contributes and costs (the report's rows: intervals, and contributions within noise
    marked); parts in the scenario's order, never ranked here."""
    from glw_sim.report import intervention_rows
    from glw_sim.results import ranking_sentence

    rows = [[r["programme"], r["net"], r["net_ci"] + (" (within uncertainty of zero)" if r["within_noise"] else ""),
             r["spending"], r["cost"], r["cost_ci"], r["year_cost"], r["year_cost_ci"]] for r in intervention_rows(res)]
    table = _table(["Part", "Net extra in work", "95% interval", "Spending", "Cost per net job", "95% interval",
                    "Cost per employment-year", "95% interval"], rows, "costs")
    rank = ranking_sentence(res)
    return table + (f"<p class='glw-note'>{html.escape(rank)}</p>" if rank else "")


def _who(res) -> str:
    from glw_sim.report import num

    g = res.who_gains()
    rows = [[f"{GROUP_LABELS.get(r['grouping'], r['grouping'])}: {fmt_level(r['level'])}", num(r["mean"]),
             f"{num(r['low_95'])} to {num(r['high_95'])}" + ("" if r["distinct_from_zero"]
                                                             else " (within uncertainty of zero)")]
            for _, r in g.iterrows()]
    return _table(["Group (without the package)", "Net extra in work", "95% interval"], rows, "who-gains")


def results_view(res) -> list:
    """The run's figures and charts, all read from its folder."""
    from glw_sim.results import precision_note, uncertainty_note

    notes = [uncertainty_note(res) + "."] + ([precision_note(res) + "."] if precision_note(res) else [])
    wide = {"sizing_mode": "stretch_width", "max_width": 1150}  # the page fits a laptop's screen too
    out = [_html(_cards(res), css_classes=["headline"], **wide),
           _html(f"<p class='glw-note' style='max-width:1100px'>{html.escape(res.paragraph())}</p>"
                        + "".join(f"<p class='glw-note'>{html.escape(n)}</p>" for n in notes), **wide)]
    spare = places_to_spare(res)
    if spare:
        out.append(_html("<div id='places-to-spare' class='glw-note' style='border-left:4px solid #E69F00;"
                         "padding-left:8px'>" + "<br>".join(html.escape(x) for x in spare) + "</div>", **wide))
    charts = [(res.folder / "charts" / f"{stem}.png", title, stem) for stem, title in CHARTS]
    # two charts a row where the page is wide enough (about 1,560 px), one below that
    panes = {stem: pn.Column(_html(f"<b>{html.escape(t)}</b>", margin=(0, 5)),
                             pn.pane.PNG(str(p), **({"sizing_mode": "scale_width", "max_width": 1130}
                                                       if stem == "who_gains" else {"width": 560})),
                             **({"sizing_mode": "stretch_width"} if stem == "who_gains" else {"width": 570}))
             for p, t, stem in charts if p.is_file()}
    broad = panes.pop("who_gains", None)
    out.append(pn.FlexBox(*panes.values(), flex_wrap="wrap", sizing_mode="stretch_width", max_width=1180))
    if broad is not None:
        out.append(broad)
    if res.programmes():
        out.append(_html("<b>What each part contributes and costs</b>" + _costs(res), **wide))
    if res.has_counterfactual:
        out.append(_html("<b>Who gains</b>" + _who(res), width=700))
    return out


# ---------------------------------------------------------------------------- server
def serve(port: int = 5006, results: Path = Path("results"), open_browser: bool = True) -> None:
    """Serve the explorer on 127.0.0.1:``port`` until interrupted; each browser tab gets its own session."""
    results = Path(results).resolve()

    def app():
        ex = Explorer(results)
        pn.state.on_session_destroyed(lambda ctx: ex.close())
        return ex.view()

    print(f"glw-sim explore: http://127.0.0.1:{port}/ (results under {results / 'explore'}; Ctrl-C to stop)",
          file=sys.stderr, flush=True)
    pn.serve({"/": app}, port=port, address="127.0.0.1", show=open_browser, title="glw-sim explorer",
             allow_websocket_origin=[f"127.0.0.1:{port}", f"localhost:{port}"],
             websocket_max_message_size=512 * 1024 * 1024, threaded=False, start=True, print_url=False)
