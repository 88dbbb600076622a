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
