"""Names in words for the outputs: programmes, groupings and their levels (below every module that shows them)."""

from __future__ import annotations

GROUP_LABELS = {"sex": "Sex", "age_band": "Age band", "health": "Health", "ethnicity": "Ethnic group",
                "qualification": "Qualification"}


LEVEL_LABELS = {"none": "None", "long_term_condition": "Long-term condition", "disabled": "Disabled",
                "pakistani_bangladeshi": "Pakistani/Bangladeshi", "rqf4_plus": "RQF4+ (degree)", "rqf1": "RQF1",
                "rqf2": "RQF2", "rqf3": "RQF3 (A level)"}


PROGRAMME_LABELS = {"workwell": "WorkWell", "connect_to_work": "Connect to Work", "restart": "Restart",
                    "youth_guarantee": "Youth Guarantee", "jobs_plus": "JobsPlus", "jobsplus": "JobsPlus",
                    "childcare": "Childcare support", "adult_skills": "Adult skills", "interactions": "interactions",
                    "integration_hubs": "Integration hubs"}


def programme_label(name: str) -> str:
    """A programme's display name ('connect_to_work' -> 'Connect to Work'; custom labels kept, '_' -> ' ')."""
    return PROGRAMME_LABELS.get(name, name.replace("_", " "))


def fmt_level(level: str) -> str:
    """A group level as a reader would write it ('pakistani_bangladeshi' -> 'Pakistani/Bangladeshi')."""
    return LEVEL_LABELS.get(level, level.replace("_", " ").capitalize())


#: metrics in words (the outputs a sweep or a table names by their code)
METRIC_LABELS = {
    "employment_rate": "Employment rate 16-64", "unemployment_rate": "Unemployment rate",
    "inactivity_rate": "Inactivity rate", "health_related_inactivity_rate": "Health-related inactivity rate",
    "gap_to_80": "Gap to 80% (residents)", "net_extra_employed": "Net extra residents in work",
    "gross_extra_employed_helped": "Gross extra in work among the residents helped",
    "displaced": "Residents displaced (gross minus net extra in work)", "helped_residents": "Residents helped",
    "cost_per_net_extra_job": "Cost per net extra job", "spending_cumulative": "Programme spending to date",
    "borough_employment_spread": "Borough spread of employment rates (highest - lowest)",
    "borough_employment_sd": "Spread of borough employment rates (standard deviation)",
    "disability_employment_gap": "Disability employment gap", "ethnicity_employment_gap": "Ethnicity employment gap",
    "female_employment_rate": "Female employment rate", "neet_rate_16_24": "NEET rate 16-24",
    "employed": "Residents in work", "unemployed": "Residents unemployed", "inactive": "Residents inactive",
    "population": "Residents 16-64", "vacancies": "Vacancies", "seekers": "Job seekers", "matches": "Matches",
}

#: the swept inputs a reader meets most, in words (dotted scenario paths; see input_label for the rest)
INPUT_LABELS = {
    "labour_demand.growth_per_year": "Labour-demand growth (share a year)",
    "labour_demand.matching_elasticity": "Matching elasticity (response of hires to job seekers)",
    "labour_demand.vacancy_response": "Response of new vacancies to job seekers (0 fixed jobs, 1 free entry)",
    "labour_demand.baseline_slack": "Matching capacity over the start's flows",
    "labour_demand.vacancy_level": "Vacancies, relative to June 2025",
    "labour_demand.transport_cost": "Commuting cost (multiplier on distance)",
    "assumptions.duration_ratio_24m": "Chance of leaving unemployment after 2 years, relative to the first 3 months",
    "assumptions.exit_mult_student": "Exit from inactivity, students (relative)",
    "assumptions.exit_mult_family_home": "Exit from inactivity, looking after family or home (relative)",
    "assumptions.exit_mult_temp_sick": "Exit from inactivity, temporarily sick (relative)",
    "assumptions.exit_mult_long_term_sick": "Exit from inactivity, long-term sick (relative)",
    "assumptions.exit_mult_discouraged": "Exit from inactivity, discouraged workers (relative)",
    "assumptions.exit_mult_retired": "Exit from inactivity, retired (relative)",
    "assumptions.exit_mult_other": "Exit from inactivity, other reasons (relative)",
    "assumptions.reason_switch_rate": "Monthly chance an inactive resident's reason changes",
    "assumptions.hazard_age_lead": "Age lead of the hazards (years)",
    "population.scale": "Share of residents simulated",
}
#: the last part of a programme's path (interventions.N.<field>) in words
PROGRAMME_FIELD_LABELS = {
    "effect.into_work": "effect on moving into work (multiplier)", "referral_multiplier": "referrals (multiplier)",
    "places_per_year": "places a year", "support_months": "months of support", "take_up": "take-up",
    "referral_rate": "referral rate", "cost_per_start": "cost per start (£)",
}


def metric_label(metric: str) -> str:
    """A metric in words ('net_extra_employed' -> 'Net extra residents in work'; programme and contribution
    metrics name their programme)."""
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    head, _, rest = metric.partition(".")
    if head == "contribution" and rest:
        return f"Contribution of {programme_label(rest)}"
    if head == "programme" and rest:
        prog, _, what = rest.rpartition(".")
        return f"{programme_label(prog)}: {what.replace('_', ' ')}"
    return metric.replace("_", " ").capitalize()


def input_label(path: str, scenario: dict | None = None, name: str | None = None) -> str:
    """A swept input in words: its dotted scenario path ('labour_demand.matching_elasticity', 'interventions.0.
    effect.into_work', read against ``scenario`` to name the programme); else its sweep ``name`` or path with
    spaces for underscores."""
    if path in INPUT_LABELS:
        return INPUT_LABELS[path]
    parts = path.split(".")
    if parts[0] == "interventions" and len(parts) > 2 and parts[1].isdigit():
        specs = (scenario or {}).get("interventions") or []
        i = int(parts[1])
        spec = specs[i] if i < len(specs) else {}
        prog = programme_label(str(spec.get("label") or spec.get("type") or f"programme {i + 1}"))
        rest = ".".join(parts[2:])
        return f"{prog}: {PROGRAMME_FIELD_LABELS.get(rest, rest.replace('_', ' ').replace('.', ' '))}"
    if parts[0] == "employability" and len(parts) == 3 and parts[1].isdigit():
        return f"What-if {int(parts[1]) + 1}: {parts[2].replace('_', ' ')} of the chance of moving into work"
    return (name or path).replace("_", " ")
