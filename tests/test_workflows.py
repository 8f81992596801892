"""The GitHub workflows parse and run what the README promises (linted with action-validator)."""

from pathlib import Path

import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as true
    return workflow


def step_commands(workflow: dict) -> list[str]:
    return [s.get("run", "") or s.get("uses", "") for job in workflow["jobs"].values() for s in job["steps"]]


def test_benchmark_runs_weekly_and_on_demand_suite_board_compare_artifact_summary():
    workflow = load("benchmark.yml")
    assert workflow["on"]["schedule"][0]["cron"] and "workflow_dispatch" in workflow["on"]
    steps = "\n".join(step_commands(workflow))
    for expected in ("actions/setup-python", 'pip install -e ".[dev]"', "grokbench suite ci",
                     "grokbench board", "grokbench compare results", "actions/upload-artifact",
                     "GITHUB_STEP_SUMMARY"):
        assert expected in steps, expected
    order = [steps.index(s) for s in ("grokbench suite ci", "grokbench board", "grokbench compare")]
    assert order == sorted(order)


def test_benchmark_summary_links_figures_from_a_branch_not_data_uris():
    """GitHub drops data: image sources; only the summary job may push (the figures branch)."""
    workflow = load("benchmark.yml")
    assert workflow["permissions"] == {"contents": "read"}
    summary = workflow["jobs"]["summary"]
    assert summary["needs"] == "ci-suite" and summary["permissions"] == {"contents": "write"}
    steps = "\n".join(s.get("run", "") for s in summary["steps"])
    assert "push origin HEAD:benchmark-figures" in steps and "data:image" not in steps
    assert "grokbench/board/job_summary.py new --image-base" in steps


def test_benchmark_runs_in_the_environment_of_the_committed_results():
    """compare refuses other torch versions or thread counts, so the runs must match the records."""
    workflow = load("benchmark.yml")
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    pin = next(s for s in steps if s.get("id") == "torch")
    assert 'versions"]["torch"]' in pin["run"] and "results/records" in pin["run"]
    install = next(s["run"] for s in steps if "download.pytorch.org" in s.get("run", ""))
    assert '"torch==${{ steps.torch.outputs.version }}"' in install
    assert steps.index(pin) < next(i for i, s in enumerate(steps) if "download.pytorch.org" in s.get("run", ""))
    suite = next(s["run"] for s in steps if "grokbench suite ci" in s.get("run", ""))
    assert "threads=1" in suite.split()


def test_tests_workflow_runs_pytest_on_every_push():
    workflow = load("tests.yml")
    assert "push" in workflow["on"]
    steps = step_commands(workflow)
    assert any('pip install -e ".[dev]"' in s for s in steps) and any(s.strip() == "pytest" for s in steps)
