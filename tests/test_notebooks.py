"""The notebooks run top to bottom on the public API, at a small scale (nbclient, a real Jupyter kernel)."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def execute(name: str, env: dict) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits the environment: the notebook's parameters
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def outputs(nb) -> str:
    text = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            text.append(o.get("text", ""))
            data = o.get("data", {})
            text.append(data.get("text/plain", "") + data.get("text/markdown", "") + data.get("text/html", ""))
    return "\n".join(text)


def images(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def test_briefing_notebook_runs_a_scenario_and_writes_the_headline(tmp_path):
    scenario = tmp_path / "quick.yaml"
    scenario.write_text(f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: nb-quick\n"
                        "interventions:\n  - {type: restart, start: 2025-07}\n")
    nb = execute("briefing.ipynb", {"GLW_SIM_SCENARIO": str(scenario), "GLW_SIM_RESULTS_DIR": str(tmp_path / "res"),
                                    "GLW_SIM_SCALE": "0.002", "GLW_SIM_MONTHS": "4", "GLW_SIM_REPLICATIONS": "2"})
    text = outputs(nb)
    assert "nb-quick: run" in text
    assert "residents in work" in text and "327,000 needed" in text  # the paragraph, from the numbers
    assert images(nb) >= 5  # route, trajectory, dashboard, map, who gains
    run = next((tmp_path / "res" / "nb-quick").iterdir())
    assert (run / "report.html").exists() and (run / "notebook-charts" / "route_to_80.png").exists()


def test_sensitivity_notebook_runs_a_sweep_and_plots_indices(tmp_path):
    sweep = tmp_path / "tiny.yaml"
    sweep.write_text(f"""name: nb-tiny
scenario: {ROOT / 'scenarios' / 'baseline.yaml'}
method: morris
samples: 4
seed: 3
scale: 0.002
months: 3
inputs:
  - {{path: assumptions.exit_mult_long_term_sick, bounds: [0.2, 0.6]}}
  - {{path: labour_demand.vacancy_level, bounds: [0.8, 1.2]}}
outputs:
  - {{metric: employment_rate}}
""")
    nb = execute("sensitivity.ipynb", {"GLW_SIM_SWEEP": str(sweep), "GLW_SIM_SWEEP_OUT": str(tmp_path / "out"),
                                       "GLW_SIM_WORKERS": "1"})
    text = outputs(nb)
    assert "mu_star" in text and "employment_rate:" in text
    assert images(nb) == 1
    assert (tmp_path / "out" / "nb-tiny" / "indices.csv").exists()


@pytest.mark.parametrize("name", ["briefing.ipynb", "sensitivity.ipynb"])
def test_notebooks_are_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
