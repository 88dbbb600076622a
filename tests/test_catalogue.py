"""The programme catalogue (``glw-sim programmes``) and the evidence behind every built-in default."""

import pytest

from glw_sim.cli import main
from glw_sim.interventions import DEFAULTS
from glw_sim.interventions.catalogue import TYPES, programme_table
from glw_sim.interventions.evidence import COLUMNS, effect_targets, load_evidence


def test_evidence_file_has_every_type_and_parameter():
    ev = load_evidence()
    assert list(ev.columns) == COLUMNS
    assert set(ev["type"]) == set(TYPES) == set(DEFAULTS)
    for kind in TYPES:
        params = set(ev.loc[ev["type"] == kind, "parameter"])
        # every type is costed per start, except JobsPlus: per targeted resident-month
        cost = {"cost_per_resident_month"} if kind == "jobs_plus" else {"cost_per_start"}
        assert params == {"effect"} | cost, kind
    assert set(ev["distribution"]) <= {"triangular", "uniform"}
    assert (ev["source"].str.len() > 20).all()  # every row says where it comes from
    assert (ev["low"] <= ev["central"]).all() and (ev["central"] <= ev["high"]).all()
    assert (ev["low"] < ev["high"]).all()  # a range, not a point
    uni = ev[ev["distribution"] == "uniform"]
    assert list((uni["low"] + uni["high"]) / 2) == pytest.approx(list(uni["central"]))  # uniform: the midpoint


def test_table_matches_defaults_and_every_default_lies_in_its_range():
    table = programme_table().set_index("type")
    ev = load_evidence().set_index(["type", "parameter"])
    targets = effect_targets()
    assert list(table.index) == list(TYPES)
    for kind in TYPES:
        row, d = table.loc[kind], DEFAULTS[kind]
        assert row["places_per_year"] == d["places_per_year"]
        assert row["cost_per_start"] == d["cost_per_start"]
        if kind == "jobs_plus":
            cost, value = ev.loc[(kind, "cost_per_resident_month")], d["place"]["cost_per_resident_month"]
            assert d["cost_per_start"] == 0
        else:
            cost, value = ev.loc[(kind, "cost_per_start")], d["cost_per_start"]
        assert cost["low"] <= value <= cost["high"], kind
        assert value == cost["central"], kind  # the defaults are the evidence's central values
        t = targets[kind]
        assert (row["effect_central"], row["effect_low"], row["effect_high"]) == (t["central"], t["low"], t["high"])
        assert t["low"] <= t["central"] <= t["high"]
        assert row["into_work"] == d["effect"]["into_work"]
        for col in ("eligibility", "referral_routes", "effect_source", "cost", "effect"):
            assert isinstance(row[col], str) and row[col], (kind, col)
    jp = ev.loc[("jobs_plus", "cost_per_resident_month")]
    assert table.loc["jobs_plus", "cost_per_resident_month"] == jp["central"]
    assert "resident-month" in table.loc["jobs_plus", "cost"]
    assert "aged 16-24" in table.loc["youth_guarantee", "eligibility"]
    assert "GP" in table.loc["workwell", "referral_routes"]


def test_fitted_ranges_bracket_the_central_multiplier():
    """programmes.json holds each type's fit at its evidence's low, central and high effects; a higher effect
    needs a higher parameter (monotone), and a zero effect is a multiplier of exactly 1."""
    import json

    from glw_sim.paths import fitted_dir

    fitted = json.loads((fitted_dir() / "programmes.json").read_text())
    targets = effect_targets()
    for kind in TYPES:
        rec, t = fitted[kind], targets[kind]
        key = "achieve" if "achieve" in rec else "into_work"
        lo, hi = rec["range"]["low"], rec["range"]["high"]
        assert (lo["effect"], rec["target_effect"], hi["effect"]) == (t["low"], t["central"], t["high"]), kind
        assert lo[key] <= rec[key] <= hi[key], kind
        if key == "into_work" and lo["effect"] == 0:
            assert lo["into_work"] == 1.0, kind


def test_fitted_parameters_come_only_from_their_file():
    """Each type's fitted parameter is read from programmes.json into DEFAULTS, and the defaults as written carry
    none of them (a number there would be overwritten): the module refuses one."""
    import ast
    import json

    from glw_sim.interventions import defaults
    from glw_sim.interventions.fitted import fitted_path, fitted_settings, parameter_of

    recs = json.loads(fitted_path().read_text())
    for kind in TYPES:
        key = parameter_of(kind)
        assert defaults.default_value(kind) == recs[kind][key], kind
    tree = ast.parse(open(defaults.__file__).read())
    node = next(n for n in tree.body if isinstance(n, ast.AnnAssign) and n.target.id == "DEFAULTS")
    written = ast.literal_eval(node.value)
    fitted = fitted_settings()
    assert set(fitted) == set(TYPES)
    for kind, overrides in fitted.items():
        for key, values in overrides.items():
            assert not set(written[kind].get(key, {})) & set(values), (kind, key)
    with pytest.raises(ValueError, match="fitted"):
        defaults._fill_fitted({"workwell": {"effect": {"into_work": 1.9}}}, fitted)
    assert fitted_settings(fitted_path().with_name("no-such-file.json")) == {}


def test_programmes_command_prints_every_type(capsys):
    assert main(["programmes"]) == 0
    out = capsys.readouterr().out
    for kind in TYPES:
        assert kind in out
    assert "per resident-month" in out and "per start" in out and "eligibility:" in out
