"""The GitHub Actions workflows: valid against GitHub's schema, credential-free, fork-safe, approval-gated."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from importlib import resources
from typing import Any

import pytest

from scripts.stack_env import dev_environment, load_stack_settings
from tests.harness import PROJECT_DIR, STACKS
from tests.workflows.workflow_files import (
    WORKFLOW_FILES,
    WORKFLOWS_DIR,
    Step,
    environment_name,
    load_workflow,
    permission,
    steps,
    triggers,
    workflow,
)

EXPECTED_WORKFLOWS = {"pull-request.yml", "main.yml", "drift.yml", "integration.yml"}
ALLOWED_SECRETS = {"GITHUB_TOKEN"}
"""OIDC means no repository secret is needed; only GitHub's own per-run token may be referenced."""


def _github_workflow_schema() -> dict[str, Any]:
    """The GitHub workflow JSON schema vendored in check-jsonschema (what CI's `check-jsonschema` uses)."""
    pytest.importorskip(
        "check_jsonschema", reason="check-jsonschema is not installed (requirements-dev.txt adds it for CI)"
    )
    text = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("github-workflows.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _schema_validator() -> Any:
    from jsonschema.validators import validator_for

    schema = _github_workflow_schema()
    return validator_for(schema)(schema)


def _schema_errors(document: Any) -> list[str]:
    validator = _schema_validator()
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(document)]


def _yaml12(path_text: str) -> Any:
    """Parse as check-jsonschema does (YAML 1.2, where ``on`` is a string key)."""
    ruamel = pytest.importorskip("ruamel.yaml", reason="ruamel.yaml comes with check-jsonschema")
    return ruamel.YAML(typ="safe", pure=True).load(path_text)


def test_the_four_pipelines_exist() -> None:
    assert {p.name for p in WORKFLOW_FILES} == EXPECTED_WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_validates_against_the_github_workflow_schema(path: Any) -> None:
    errors = _schema_errors(_yaml12(path.read_text()))
    assert errors == [], f"{path.name}: {errors}"


def test_the_schema_check_rejects_a_broken_workflow() -> None:
    broken = _yaml12(
        "on: pull_request\njobs:\n  preview:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: pulumi/actions@v7\n        run: echo both\n    environment: {url: x}\n"
    )
    assert _schema_errors(broken), "a step with both uses and run, and an environment without a name, passed"


def test_check_jsonschema_cli_validates_offline() -> None:
    """The exact command CI runs, from the venv, with the vendored schema (no network)."""
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is not installed (requirements-dev.txt)")
    files = [str(p.relative_to(PROJECT_DIR)) for p in WORKFLOW_FILES]
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *files],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------------------------------ credentials


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_no_long_lived_credentials(path: Any) -> None:
    text = path.read_text()
    used = set(re.findall(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)", text)) | set(
        re.findall(r"secrets\[\s*['\"]([^'\"]+)", text)
    )
    assert used <= ALLOWED_SECRETS, f"{path.name} reads repository secrets {sorted(used - ALLOWED_SECRETS)}"
    for forbidden in ("aws-access-key-id", "aws-secret-access-key", "PULUMI_ACCESS_TOKEN", "secrets: inherit"):
        assert forbidden not in text, f"{path.name} uses {forbidden}: credentials must come from OIDC"
    assert "pull_request_target" not in text, f"{path.name}: pull_request_target runs fork code with credentials"


def test_cloud_credentials_come_from_oidc() -> None:
    oidc_steps = [s for s in steps() if s.action in ("aws-actions/configure-aws-credentials", "hashicorp/vault-action")]
    assert oidc_steps, "no workflow obtains cloud or Vault credentials"
    for step in oidc_steps:
        document = load_workflow(WORKFLOWS_DIR / step.workflow)
        assert permission(document, step.job, "id-token") == "write", f"{step}: needs permissions id-token: write"
        if step.action == "aws-actions/configure-aws-credentials":
            assert "role-to-assume" in step.inputs, f"{step}: assume a role through OIDC"
            assert not {"aws-access-key-id", "aws-secret-access-key"} & set(step.inputs), f"{step}: static AWS keys"
        else:
            assert step.inputs.get("method") == "jwt", f"{step}: Vault login must be JWT with the OIDC token"
            assert step.inputs.get("exportToken") is True, f"{step}: must export VAULT_TOKEN for the provider"
            assert not {"token", "roleId", "secretId", "githubToken"} & set(step.inputs), f"{step}: static credential"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_actions_are_pinned_to_a_version(path: Any) -> None:
    for step in steps(path.name):
        if not step.uses or step.uses.startswith("./"):
            continue
        ref = step.uses.partition("@")[2]
        assert re.fullmatch(r"v\d+(\.\d+){0,2}|[0-9a-f]{40}", ref), f"{step}: pin {step.uses} to a version tag or SHA"


def test_pulumi_cli_version_matches_the_sdk_pin() -> None:
    pinned = re.search(r"^pulumi==(\S+)$", (PROJECT_DIR / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned is not None, "requirements.txt does not pin pulumi"
    for path in WORKFLOW_FILES:
        document = load_workflow(path)
        uses_pulumi = any(s.action == "pulumi/actions" for s in steps(path.name))
        if uses_pulumi:
            assert document["env"]["PULUMI_VERSION"] == pinned.group(1), f"{path.name}: CLI version != SDK pin"
    for step in steps():
        if step.action == "pulumi/actions":
            assert step.uses == "pulumi/actions@v7", f"{step}: use pulumi/actions@v7"
            assert step.inputs.get("pulumi-version") == "${{ env.PULUMI_VERSION }}", f"{step}: pin the CLI version"


def test_kind_clusters_are_the_dev_stacks_cluster() -> None:
    cluster = dev_environment(load_stack_settings("dev")).kind_cluster
    kind_steps = [s for s in steps() if s.action == "helm/kind-action"]
    assert kind_steps, "no workflow creates a kind cluster"
    for step in kind_steps:
        assert step.inputs.get("cluster_name") == cluster, f"{step}: the dev stack's context needs cluster {cluster}"
        assert step.step.get("if") in (None, "matrix.stack == 'dev'"), f"{step}: only the dev stack runs on kind"


# -------------------------------------------------------------------------------------------- pull request


def _job_steps(name: str, job_id: str) -> list[Step]:
    return [s for s in steps(name) if s.job_id == job_id]


def _pulumi_steps(name: str, job_id: str) -> list[Step]:
    return [s for s in _job_steps(name, job_id) if s.action == "pulumi/actions"]


def test_pull_request_previews_every_stack_with_the_policy_pack_and_comments() -> None:
    document = workflow("pull-request.yml")
    assert "pull_request" in triggers(document)
    preview = document["jobs"]["preview"]
    assert sorted(preview["strategy"]["matrix"]["stack"]) == STACKS
    (step,) = _pulumi_steps("pull-request.yml", "preview")
    assert step.inputs["command"] == "preview"
    assert step.inputs["stack-name"] == "${{ matrix.stack }}"
    assert step.inputs["work-dir"] == "."
    assert step.inputs["comment-on-pr"] is True
    assert step.inputs["policyPacks"] == "policy"
    assert permission(document, preview, "pull-requests") == "write", "commenting needs pull-requests: write"


def test_pull_request_tests_run_before_previews() -> None:
    document = workflow("pull-request.yml")
    checks = [s for s in steps("pull-request.yml") if s.job_id == "checks" and "run" in s.step]
    assert [s.step["run"] for s in checks] == ["bash .ci/run"]
    assert document["jobs"]["preview"]["needs"] == "checks"


def test_pull_request_previews_are_skipped_for_forks() -> None:
    preview = workflow("pull-request.yml")["jobs"]["preview"]
    condition = re.sub(r"\s+", " ", str(preview.get("if", "")))
    assert "github.event.pull_request.head.repo.full_name == github.repository" in condition, (
        "the credentialed preview must not run for a fork's pull request"
    )


def test_offline_review_runs_for_everyone_without_credentials() -> None:
    document = workflow("pull-request.yml")
    review = document["jobs"]["offline-review"]
    assert "if" not in review, "the offline review must run for forks too"
    assert permission(document, review, "id-token") in (None, "none"), "the offline review needs no OIDC token"
    assert sorted(review["strategy"]["matrix"]["stack"]) == STACKS
    job_steps = _job_steps("pull-request.yml", "offline-review")
    (render,) = [s for s in job_steps if "make render" in str(s.step.get("run"))]
    assert render.step["run"] == 'make render STACK="$STACK" OUT="build/$STACK"'
    assert render.step["env"]["STACK"] == "${{ matrix.stack }}"
    (upload,) = [s for s in job_steps if s.action == "actions/upload-artifact"]
    assert upload.inputs["path"] == "build/${{ matrix.stack }}"
    assert upload.inputs["if-no-files-found"] == "error"
    credentialed = {"aws-actions/configure-aws-credentials", "hashicorp/vault-action", "pulumi/actions"}
    assert not [s for s in job_steps if s.action in credentialed], "the offline review must not use credentials"


# ---------------------------------------------------------------------------------------------------- main


def test_main_deploys_dev_first_then_prod_behind_the_production_environment() -> None:
    document = workflow("main.yml")
    assert triggers(document)["push"] == {"branches": ["main"]}
    ups = [s for s in steps("main.yml") if s.action == "pulumi/actions" and s.inputs.get("command") == "up"]
    by_stack = {s.inputs["stack-name"]: s for s in ups}
    assert sorted(by_stack) == STACKS, f"main.yml runs pulumi up for {sorted(by_stack)}"
    for stack, step in by_stack.items():
        assert step.inputs["policyPacks"] == "policy", f"{step}: up with the policy pack"
        if stack != "dev":
            assert environment_name(step.job) == "production", f"{step}: prod deploys need the production environment"
            assert step.job.get("needs") == by_stack["dev"].job_id, f"{step}: dev must be deployed first"
    assert environment_name(by_stack["dev"].job) != "production"
    assert document["concurrency"]["cancel-in-progress"] is False, "a deployment must never be cancelled half-way"


def test_every_up_of_a_real_stack_is_approval_gated() -> None:
    for step in steps():
        is_up = step.action == "pulumi/actions" and step.inputs.get("command") == "up"
        if is_up and step.inputs["stack-name"] != "dev":
            assert environment_name(step.job) == "production", f"{step}: needs environment production"


# --------------------------------------------------------------------------------------------------- drift


def test_drift_check_previews_every_stack_with_refresh_expecting_no_changes() -> None:
    document = workflow("drift.yml")
    events = triggers(document)
    assert "workflow_dispatch" in events
    assert events["schedule"] and all("cron" in entry for entry in events["schedule"])
    assert sorted(document["jobs"]["drift"]["strategy"]["matrix"]["stack"]) == STACKS
    previews = [s for s in steps("drift.yml") if s.action == "pulumi/actions" and s.inputs.get("command") == "preview"]
    (preview,) = previews
    assert preview.inputs["refresh"] is True
    assert preview.inputs["expect-no-changes"] is True
    assert preview.inputs["stack-name"] == "${{ matrix.stack }}"
    assert "if" not in preview.step, "the drift preview must run for every stack"


# --------------------------------------------------------------------------------------------- integration


def test_integration_workflow_runs_the_integration_tests_on_kind() -> None:
    document = workflow("integration.yml")
    events = triggers(document)
    assert {"workflow_dispatch", "schedule"} <= set(events)
    job = document["jobs"]["integration"]
    assert "contains(github.event.pull_request.labels.*.name, 'integration')" in job["if"]
    ordered = [s.action or s.step.get("run", "") for s in steps("integration.yml")]
    kind = ordered.index("helm/kind-action")
    env_up = ordered.index("scripts/dev-up.sh --env-only")
    (pytest_step,) = [s for s in steps("integration.yml") if "pytest tests/integration" in str(s.step.get("run"))]
    assert "-m integration" in pytest_step.step["run"]
    assert kind < env_up < ordered.index(pytest_step.step["run"])
    assert pytest_step.step["env"]["SECURE_MESH_INTEGRATION"] in ("1", "required")
