"""The built-in programme types' defaults (:data:`DEFAULTS`) and how a scenario's entry is merged over them
(:func:`with_defaults`). Each type's fitted parameter is not written here: it is read from
``calibration/fitted/programmes.json`` (:mod:`glw_sim.interventions.fitted`) when this module is imported."""

from __future__ import annotations

from glw_sim.interventions.fitted import fitted_settings, parameter_of


#: Defaults per type: evidence and derivations in calibration/SOURCES.md ("Programmes"); each effect and cost with
#: its range and source in calibration/evidence/programmes.csv (costs here are its central values). Values marked
#: ASSUMPTION are for sensitivity sweeps. ``effect.into_work`` (childcare: with ``effect.into_search``) is fitted
#: so that participants' employment at the source's follow-up exceeds comparable non-participants' by the
#: evidence's central effect (adult skills: ``skills.achieve`` is fitted instead), and is filled in below from
#: calibration/fitted/programmes.json.
DEFAULTS: dict[str, dict] = {
    "workwell": {
        "areas": {"icb": ["North Central London", "North West London"]},
        "organised_by": "icb",
        "places_per_year": 5200,  # 59,000 targeted over ~18 months in 15 pilot areas; London has 2 (derived)
        "support_months": 6,
        # single referral gateway from GPs and other health professionals, also Jobcentre (GLW plan; DWP)
        "pathways": {"gp": 0.0017, "jobcentre": 0.002},  # ASSUMPTION: chance of referral at a contact, set so the
        # eligible are referred at 0.002 a month on average, 70% through GPs (fills today's places); sweep x0.5-x5
        "take_up": 0.7,  # ASSUMPTION (voluntary), sweep 0.4-0.9
        # out of work, and in work while off sick (sickness absence, the health process): WorkWell's in-work
        # route, its purpose being to stop people leaving work when their health changes (README, "WorkWell's
        # in-work route"); both share the places
        "eligibility": {"states": ["employed", "unemployed", "inactive"], "employed_off_sick_only": True,
                        "health": ["long_term_condition", "disabled"], "wants_job_only": False},
        # leave_work 0.8 while supported: ASSUMPTION, the Health-led Trials' in-work group (Sheffield City Region)
        # had "a weaker and slightly smaller positive effect" on sustained employment than the West Midlands
        # out-of-work group's +4 pp (DWP RR 1025, IES 2023); sweep 0.6-1.0
        "effect": {"after_months": 6, "leave_work": 0.8,
                   "source": "Health-led Employment Trials (DWP RR 1025/1034): +4 pp at 12 months in the West "
                             "Midlands, none in Sheffield City Region; central +2 pp (range 0 to +4 pp) for the "
                             "out-of-work; in work: leave_work 0.8 (ASSUMPTION, sweep 0.6-1.0)"},
        "cost_per_start": 1085,  # GBP 64m / 59,000 targeted (derived)
    },
    "connect_to_work": {
        "areas": {"all": True},
        "organised_by": "srp",
        "places_per_year": 14700,  # 81,000 places a year in England x London's share of working-age residents (derived)
        "support_months": 12,
        "pathways": {"gp": 0.002, "jobcentre": 0.0021, "council": 0.0053, "voluntary": 0.0083},  # ASSUMPTION:
        # 0.004 a month on average, 40% GP, 30% Jobcentre, 15% council, 15% voluntary sector; sweep x0.25-x2.5
        "take_up": 0.6,  # ASSUMPTION (voluntary), sweep 0.3-0.8
        "eligibility": {"states": ["unemployed", "inactive"], "health": ["long_term_condition", "disabled"],
                        "wants_job_only": True},
        "effect": {"after_months": 6,
                   "source": "IPS-LITE, Health-led Employment Trials (DWP RR 1025/1034): +4 pp at 12 months in the "
                             "West Midlands, none in Sheffield City Region; central +2 pp (range 0 to +4 pp); EQOLISE "
                             "(IPS for severe mental illness) not used: another population"},
        "cost_per_start": 3670,  # GBP 54m a year in London (GLW plan) / 14,700 places (derived)
    },
    "restart": {
        "areas": {"all": True},
        "organised_by": "london",
        "places_per_year": 50000,  # GBP 127m a year in London (GLW plan) / about GBP 2,500 per start (NAO 2022)
        "support_months": 12,
        "pathways": {"jobcentre": 0.216},  # ASSUMPTION: Jobcentre referral (mandatory) of eligible claimants,
        # 0.15 a month on average; sweep x0.33-x2
        "take_up": 0.85,  # 450,000 started of 530,000 referred (DWP Restart statistics 2023)
        "eligibility": {"states": ["unemployed"], "min_months_in_state": 9},
        "effect": {"after_months": 6,
                   "source": "DWP business case: about 6% additionality, read as +6 pp at 12 months (ASSUMPTION; "
                             "no impact estimate published; range 0 to +10 pp)"},
        "cost_per_start": 2430,  # Public Accounts Committee (2023): GBP 1.68bn for about 692,000 starts
    },
    "youth_guarantee": {
        "areas": {"all": True},
        "organised_by": "borough",
        "places_per_year": 10000,  # ASSUMPTION (trailblazer scale not published), sweep 5,000-30,000
        "support_months": 6,
        "pathways": {"jobcentre": 0.0403, "council": 0.0574, "voluntary": 0.0766},  # ASSUMPTION: 0.02 a month
        # on average, half Jobcentre, a quarter each council and youth / voluntary services; sweep x0.25-x2.5
        "take_up": 0.5,  # ASSUMPTION, sweep 0.3-0.8
        "eligibility": {"states": ["unemployed", "inactive"], "age": [16, 24], "in_education": False},
        "effect": {"after_months": 6,
                   "source": "DWP Employment Data Lab, Talent Match Plus: -1 to +3 pp employment at 2 years "
                             "(not significant), +1 pp midpoint; up to about +4% (Mawn et al. 2017 meta-analysis)"},
        # a guidance and brokerage offer: midpoint of DfE Youth Contract 16-17 (up to GBP 2,200 a young person,
        # IES 2014) and Talent Match (about GBP 4,200 a young person, 2014-18); not Kickstart's wage subsidy
        "cost_per_start": 3200,
    },
    "jobs_plus": {
        # today: three London pilots on housing-association estates in Leyton (Waltham Forest), Penge (Bromley)
        # and East Finchley (Barnet) (Get London Working plan 2025, JobsPlus case study)
        "areas": {"boroughs": ["Waltham Forest", "Bromley", "Barnet"]},
        "organised_by": "borough",
        "place": {"share_of_borough": 0.008,  # ASSUMPTION: one estate of ~1,500 working-age residents per borough
                                               # of ~190,000 (derived), sweep 0.003-0.02
                  "workless_odds": 2.0, "spillover": 0.3,
                  # GBP 188 per targeted working-age resident per month, range 122-188 (MDRC 2005: USD 150,
                  # uplifted and converted: calibration/evidence/programmes.csv, calibration/SOURCES.md)
                  "cost_per_resident_month": 188},
        "places_per_year": 500,  # ASSUMPTION: ~170 starts a year per site (a third of the estate's non-working
                                 # residents), sweep 250-1,000
        "support_months": 12,
        "pathways": {"community": 0.3},  # ASSUMPTION: on-site outreach refers an eligible resident about every
        # 3 years (0.03 a month), sweep x0.33-x3
        "take_up": 0.6,  # ASSUMPTION (open access, voluntary), sweep 0.4-0.8
        "eligibility": {"states": ["unemployed", "inactive"]},
        "effect": {"after_months": 36,
                   "source": "Jobs Plus replication at 24 US sites (MDRC for HUD, 2014-2020): no measurable "
                             "employment effect; central +0.5 pp for the estates' residents at 36 months "
                             "(ASSUMPTION, range 0 to +1.5 pp)"},
        "cost_per_start": 0,  # costed per targeted resident-month (place), not per start
    },
    "childcare": {
        # funded childcare and help to arrange it for parents of under-5s who are inactive looking after family
        "areas": {"all": True},
        "organised_by": "borough",
        "places_per_year": 3000,  # ASSUMPTION: today's targeted help (Flexible Support Fund, borough schemes) is not
                                  # published for London, sweep 1,000-10,000
        "support_months": 12,
        "pathways": {"jobcentre": 0.0362, "council": 0.0678},  # ASSUMPTION: 0.01 a month on average, 40%
        # Jobcentre, 60% council incl. family hubs (in every borough by April 2026, GLW plan); sweep x0.3-x3
        "take_up": 0.5,  # ASSUMPTION, sweep 0.3-0.8
        "eligibility": {"states": ["inactive"], "reasons": ["family_home"], "young_children": True},
        "effect": {"after_months": 12,
                   "source": "Brewer, Cattan, Crawford & Rabe (2022, Labour Economics 74:102100): full-time free "
                             "childcare raised mothers' employment by 3.5 pp from a base of 58% after a year, about "
                             "+8.3 pp per non-working mother (derived; range 0 to +25 pp)"},
        "cost_per_start": 6000,  # ASSUMPTION: a year of part-funded childcare in London, sweep 3,000-12,000
    },
    "adult_skills": {
        # GLA's delegated Adult Skills Fund, Free Courses for Jobs and Skills Bootcamps: about GBP 370m a year,
        # residents 19+ (Get London Working plan 2025, section 3); here the courses that lead to a qualification
        # for residents out of work without a level-3 qualification
        "areas": {"all": True},
        "organised_by": "borough",
        "places_per_year": 40000,  # ASSUMPTION (about GBP 80m of the GBP 370m), sweep 20,000-80,000
        "support_months": 9,  # course length: the qualification comes at its end (ASSUMPTION, sweep 3-12)
        "pathways": {"jobcentre": 0.0191, "council": 0.0217, "voluntary": 0.051},  # ASSUMPTION: 0.01 a month
        # on average, half Jobcentre, 20% council, 30% voluntary / community outreach; sweep x0.3-x3
        "take_up": 0.5,  # ASSUMPTION, sweep 0.3-0.8
        "eligibility": {"states": ["unemployed", "inactive"], "age": [19, 64], "in_education": False,
                        "qualifications": ["none", "rqf1", "rqf2", "other"]},
        "skills": {"levels": 1},  # achieve is fitted so the qualification gives the ASSUMPTION +2 pp at 24 months
        # (range 0 to +4 pp)
        "effect": {"into_work": 0.9, "after_months": 0,
                   "source": "ASSUMPTION +2 pp at 24 months (range 0 to +4 pp; returns positive but unquantified, "
                             "BIS 2012-13) from the qualification gained (skills.achieve fitted); into_work 0.9 is "
                             "lock-in while studying (Card, Kluve & Weber 2018, JEEA 16(3):894-931; ASSUMPTION, "
                             "sweep 0.7-1.0)"},
        "cost_per_start": 2000,  # ASSUMPTION, sweep 1,000-4,000
    },
}


def _fill_fitted(defaults: dict[str, dict], fitted: dict[str, dict]) -> None:
    """Put each type's fitted parameter (:func:`glw_sim.interventions.fitted.fitted_settings`) into ``defaults``;
    a default that writes a fitted parameter itself is refused (it would be overwritten)."""
    for kind, overrides in fitted.items():
        if kind not in defaults:
            continue
        for key, values in overrides.items():
            written = defaults[kind].get(key, {})
            if set(written) & set(values):
                raise ValueError(f"DEFAULTS[{kind!r}][{key!r}] writes {sorted(set(written) & set(values))}, which "
                                 "are fitted (calibration/fitted/programmes.json)")
            defaults[kind][key] = {**values, **written}


_fill_fitted(DEFAULTS, fitted_settings())


def default_value(kind: str) -> float:
    """The fitted parameter's value in DEFAULTS."""
    d = DEFAULTS[kind]
    return float(d["skills"]["achieve"] if parameter_of(kind) == "achieve" else d["effect"]["into_work"])


def with_defaults(spec: dict) -> dict:
    """A scenario's programme entry merged over its type's defaults (key by key, one level deep)."""
    if not isinstance(spec, dict):
        return spec
    base = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULTS.get(spec.get("type"), {}).items()}
    if "areas" in spec:
        base.pop("areas", None)  # areas replace, never merge
    for k, v in spec.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            base[k] = {**base[k], **v}
        else:
            base[k] = v
    return base
