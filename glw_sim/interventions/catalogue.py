"""The catalogue of built-in programme types: one row per type with its shipped defaults and its evidence
(``glw-sim programmes``).

Each row is the type's default specification as a scenario would resolve it (:data:`DEFAULTS`, fitted effects
loaded) beside its evidence (``calibration/evidence/programmes.csv``): places a year, cost (per start, or per
targeted resident-month for JobsPlus), eligibility and referral routes in words, and the employment effect's
central value with its range and source.
"""

from __future__ import annotations

import sys
import textwrap

import pandas as pd

from glw_sim.interventions.defaults import DEFAULTS, with_defaults
from glw_sim.interventions.evidence import follow_up_months, load_evidence
from glw_sim.interventions.specs import ProgrammeSpec

#: built-in types in the order they are listed
TYPES = ("workwell", "connect_to_work", "restart", "youth_guarantee", "jobs_plus", "childcare", "adult_skills")

_ROUTES = {"gp": "GP", "jobcentre": "Jobcentre", "council": "council", "voluntary": "voluntary sector",
           "community": "on-site community outreach"}
_HEALTH = {"long_term_condition": "a long-term condition", "disabled": "a disability", "none": "no condition"}
_REASONS = {"family_home": "looking after family or home", "student": "students", "temp_sick": "temporarily sick",
            "long_term_sick": "long-term sick", "discouraged": "discouraged", "retired": "retired", "other": "other"}
_QUALS = {"none": "no qualification", "rqf1": "RQF1", "rqf2": "RQF2", "rqf3": "RQF3", "rqf4_plus": "RQF4+",
          "other": "other"}


def _list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def eligibility_words(spec) -> str:
    """A programme's eligibility (a validated :class:`ProgrammeSpec`) in words."""
    e = spec.eligibility
    parts = [_list(list(e.states)), f"aged {e.age[0]}-{e.age[1]}"]
    if e.min_months_in_state:
        parts.append(f"{e.min_months_in_state}+ months in that state")
    if e.health is not None:
        parts.append("with " + _list([_HEALTH[h] for h in e.health]))
    if e.wants_job_only:
        parts.append("the inactive only if they want a job")
    if e.reasons is not None:
        parts.append("the inactive only if " + _list([_REASONS[r] for r in e.reasons]))
    if e.young_children:
        parts.append("parents of a child under 5")
    if e.in_education is False:
        parts.append("not in full-time education")
    if e.qualifications is not None:
        parts.append("highest qualification " + _list([_QUALS[q] for q in e.qualifications]))
    if spec.place is not None:
        parts.append(f"living on the targeted estates ({100 * spec.place.share_of_borough:g}% of an area "
                     "borough's working-age residents)")
    a = spec.areas
    where = ("all London" if a.all else "; ".join(x for x in [", ".join(a.boroughs), ", ".join(a.srp),
                                                                ", ".join(f"{i} ICB" for i in a.icb)] if x))
    return f"{'; '.join(parts)}; in {where}"


def referral_words(spec) -> str:
    """A programme's referral routes in words (chance an eligible resident is referred at a contact)."""
    routes = [f"{_ROUTES[k]} ({100 * v:.2g}% a contact)" for k, v in spec.pathways.items() if v > 0]
    if spec.referral_rate > 0:
        routes.append(f"self-referral ({100 * spec.referral_rate:.2g}% a month)")
    return ", ".join(routes) + f"; take-up {100 * spec.take_up:.0f}%" if routes else "none"


def programme_table() -> pd.DataFrame:
    """One row per built-in type: its defaults beside its evidence (effects as proportions)."""
    ev = load_evidence().set_index(["type", "parameter"])
    rows = []
    for kind in TYPES:
        spec = ProgrammeSpec.model_validate(with_defaults({"type": kind}))
        eff = ev.loc[(kind, "effect")]
        per_month = (kind, "cost_per_resident_month") in ev.index
        row = {"type": kind, "places_per_year": spec.places_per_year, "support_months": spec.support_months,
               "cost_per_start": spec.cost_per_start,
               "cost_per_resident_month": (spec.place.cost_per_resident_month if spec.place is not None else None)
               if per_month else None,
               "eligibility": eligibility_words(spec), "referral_routes": referral_words(spec),
               "effect_central": float(eff["central"]), "effect_low": float(eff["low"]),
               "effect_high": float(eff["high"]), "follow_up_months": follow_up_months(eff["unit"]),
               "into_work": spec.effect.into_work, "effect_source": DEFAULTS[kind]["effect"].get("source", "")}
        if per_month:
            per_start = f" plus GBP {spec.cost_per_start:,.0f} per start" if spec.cost_per_start else ""
            row["cost"] = f"GBP {row['cost_per_resident_month']:,.0f} per targeted resident-month{per_start}"
        else:
            row["cost"] = f"GBP {spec.cost_per_start:,.0f} per start"
        row["effect"] = (f"{100 * row['effect_central']:+.1f} pp ({100 * row['effect_low']:+.1f} to "
                         f"{100 * row['effect_high']:+.1f}) at {row['follow_up_months']} months")
        rows.append(row)
    return pd.DataFrame(rows)


def print_programmes(file=None) -> None:
    """The catalogue as one table: a line of figures per type, then its eligibility, routes and source."""
    file = file or sys.stdout
    df = programme_table()
    head = f"{'type':<16} {'places/yr':>9}  {'cost':<34} effect (range) at follow-up"
    print(head, file=file)
    print("-" * len(head), file=file)
    wrap = textwrap.TextWrapper(width=110, initial_indent=" " * 18, subsequent_indent=" " * 20)
    for _, r in df.iterrows():
        per_month = pd.notna(r["cost_per_resident_month"])
        cost = f"GBP {r['cost_per_resident_month']:,.0f} per resident-month" if per_month else r["cost"]
        print(f"{r['type']:<16} {r['places_per_year']:>9,.0f}  {cost:<34} {r['effect']}", file=file)
        for label in ("eligibility", "referral_routes", "effect_source"):
            print(wrap.fill(f"{label.replace('_', ' ')}: {r[label]}"), file=file)
        if per_month:
            print(wrap.fill(f"cost: {r['cost']}"), file=file)
    print("\nranges and sources: calibration/evidence/programmes.csv; derivations: calibration/SOURCES.md",
          file=file)
