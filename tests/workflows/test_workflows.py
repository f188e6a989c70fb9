"""The GitHub Actions workflows: schema-valid, pinned, credential-free except the bootstrap roles, fork-safe, gated."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from functools import cache
from importlib import resources
from typing import Any

import pytest

from scripts.stack_env import dev_environment, load_stack_settings
from secure_mesh_bootstrap.names import (
    AWS_ROLES,
    PREVIEW_ENVIRONMENT,
    VAULT_AUDIENCE,
    VAULT_JWT_MOUNT,
    VAULT_ROLES,
    Purpose,
)
from secure_mesh_bootstrap.trust import PURPOSES
from tests.harness import DEPLOYED_STACKS, EXAMPLE_STACKS, PROJECT_DIR, STACKS
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


def test_pull_request_previews_every_stack_with_the_policy_pack() -> None:
    document = workflow("pull-request.yml")
    assert "pull_request" in triggers(document)
    by_stack = {}
    for job_id in ("preview-dev", "preview-prod"):
        (step,) = _pulumi_steps("pull-request.yml", job_id)
        by_stack[step.inputs["stack-name"]] = step
        assert step.inputs["command"] == "preview"
        assert step.inputs["work-dir"] == "."
        assert step.inputs["policyPacks"] == "policy"
        assert "comment-on-pr" not in step.inputs, f"{step}: the credential-free comment job comments, not this one"
        assert step.step["id"] == "preview"
        (save,) = [s for s in _job_steps("pull-request.yml", job_id) if "PREVIEW_OUTPUT" in (s.step.get("env") or {})]
        assert save.step["env"]["PREVIEW_OUTPUT"] == "${{ steps.preview.outputs.output }}"
        (upload,) = [s for s in _job_steps("pull-request.yml", job_id) if s.action == "actions/upload-artifact"]
        assert upload.inputs["name"] == f"preview-{step.inputs['stack-name']}"
        assert upload.inputs["path"] == f"preview/{step.inputs['stack-name']}.txt"
        assert f"> preview/{step.inputs['stack-name']}.txt" in save.step["run"]
    assert sorted(by_stack) == DEPLOYED_STACKS


def test_pull_request_tests_run_before_previews() -> None:
    document = workflow("pull-request.yml")
    checks = [s for s in steps("pull-request.yml") if s.job_id == "checks" and "run" in s.step]
    assert [s.step["run"] for s in checks] == ["bash .ci/run"]
    assert document["jobs"]["preview-dev"]["needs"] == "checks"
    assert document["jobs"]["preview-prod"]["needs"] == "checks"


@pytest.mark.parametrize("job_id", ["preview-prod", "comment"])
def test_pull_request_credentialed_jobs_are_skipped_for_forks(job_id: str) -> None:
    job = workflow("pull-request.yml")["jobs"][job_id]
    condition = re.sub(r"\s+", " ", str(job.get("if", "")))
    assert "github.event.pull_request.head.repo.full_name == github.repository" in condition, (
        f"{job_id} must not run for a fork's pull request"
    )


def test_offline_review_runs_for_everyone_without_credentials() -> None:
    document = workflow("pull-request.yml")
    review = document["jobs"]["offline-review"]
    assert "if" not in review, "the offline review must run for forks too"
    assert permission(document, review, "id-token") in (None, "none"), "the offline review needs no OIDC token"
    assert sorted(review["strategy"]["matrix"]["stack"]) == STACKS  # the examples too: no credentials needed
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
    assert sorted(by_stack) == DEPLOYED_STACKS, f"main.yml runs pulumi up for {sorted(by_stack)}"
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
    previews = [s for s in steps("drift.yml") if s.action == "pulumi/actions" and s.inputs.get("command") == "preview"]
    assert sorted(s.inputs["stack-name"] for s in previews) == DEPLOYED_STACKS
    for preview in previews:
        assert preview.inputs["refresh"] is True
        assert preview.inputs["expect-no-changes"] is True
        assert preview.inputs["policyPacks"] == "policy"
        assert "if" not in preview.step, "the drift preview must run whenever its job runs"
        assert "if" not in preview.job, "every stack's drift job runs"
    assert permission(document, document["jobs"]["drift-dev"], "id-token") in (None, "none"), "dev needs no token"


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


# ------------------------------------------------------------------------------------ supply chain (issue 13.9)
# Each property is a checker returning its violations; the real workflows must have none, and a broken copy
# of a real workflow must have one (so the check cannot pass vacuously).

USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s+# v\d+(\.\d+){0,2}\s*$")


def pin_violations(text: str) -> list[str]:
    """``uses:`` lines not pinned to a full 40-hex commit SHA followed by ``# vX.Y.Z``."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = USES_LINE.match(line)
        if match is None or match["ref"].startswith("./"):
            continue
        if not PINNED.match(match["ref"]) or not VERSION_COMMENT.match(match["rest"]):
            found.append(f"line {number}: {line.strip()}")
    return found


def persist_credentials_violations(document: dict[str, Any]) -> list[str]:
    """Checkout steps that leave the job's token in .git/config (anything but ``persist-credentials: false``)."""
    return [
        f"job {job_id}"
        for job_id, job in document["jobs"].items()
        for step in job.get("steps") or []
        if str(step.get("uses", "")).startswith("actions/checkout@")
        and (step.get("with") or {}).get("persist-credentials") is not False
    ]


INSTALLS = ("bash .ci/run", "make .venv/.installed", "make render")
"""The ways a job installs Python packages: each goes through the Makefile/.ci/run (hashes required)."""


def install_violations(document: dict[str, Any]) -> list[str]:
    """pip installs without ``--require-hashes`` from the lock, and jobs using .venv without installing it."""
    found = []
    for job_id, job in document["jobs"].items():
        runs = [str(step.get("run", "")) for step in job.get("steps") or []]
        for run in runs:
            if re.search(r"pip3?\s+install|-m\s+pip\s+install", run) and not re.search(
                r"--require-hashes\b.*-r requirements-lock\.txt", run
            ):
                found.append(f"job {job_id}: {run.strip()}")
        uses_venv = any(".venv/bin/" in run for run in runs)
        installs = [run for run in runs if run.strip().startswith(INSTALLS)]
        if uses_venv and not installs:
            found.append(f"job {job_id}: uses .venv without `make .venv/.installed`")
        for step in job.get("steps") or []:
            if str(step.get("uses", "")).startswith("actions/setup-python@") and "cache" in (step.get("with") or {}):
                found.append(f"job {job_id}: setup-python cache (restored packages bypass the hash check)")
    return found


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(path: Any) -> None:
    assert pin_violations(path.read_text()) == []


def test_one_action_is_pinned_to_one_sha_and_version_everywhere() -> None:
    seen: dict[str, set[str]] = {}
    for path in WORKFLOW_FILES:
        for line in path.read_text().splitlines():
            match = USES_LINE.match(line)
            if match:
                action, _, sha = match["ref"].partition("@")
                seen.setdefault(action, set()).add(f"{sha}{match['rest'].strip()}")
    assert {action: len(pins) for action, pins in seen.items()} == dict.fromkeys(seen, 1), seen


@pytest.mark.parametrize(
    "line",
    [
        "      - uses: actions/checkout@v7",
        "      - uses: actions/checkout@v7.0.1 # v7.0.1",
        "      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
        "      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b # v7.0.1",
        "        uses: actions/checkout@main # v7.0.1",
    ],
)
def test_the_pin_check_refuses_tags_branches_short_shas_and_missing_versions(line: str) -> None:
    assert pin_violations(f"jobs:\n  a:\n    steps:\n{line}\n") != []


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_checkout_drops_the_token(path: Any) -> None:
    document = load_workflow(path)
    assert any(s.action == "actions/checkout" for s in steps(path.name)), f"{path.name} checks nothing out"
    assert persist_credentials_violations(document) == []
    broken = copy.deepcopy(document)
    checkout = next(
        step for job in broken["jobs"].values() for step in job.get("steps") or [] if "checkout" in step.get("uses", "")
    )
    del checkout["with"]["persist-credentials"]
    assert persist_credentials_violations(broken) != []


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_python_packages_come_only_from_the_hashed_lock(path: Any) -> None:
    document = load_workflow(path)
    assert install_violations(document) == []
    for bad in (
        {"run": ".venv/bin/python -m pip install -r requirements-dev.txt"},
        {"run": "pip install --require-hashes -r requirements-dev.txt"},
    ):
        broken = copy.deepcopy(document)
        next(iter(broken["jobs"].values()))["steps"].append(bad)
        assert install_violations(broken) != [], bad


def test_a_job_using_the_venv_without_installing_it_is_caught() -> None:
    broken = copy.deepcopy(workflow("main.yml"))
    broken["jobs"]["deploy-prod"]["steps"] = [
        s for s in broken["jobs"]["deploy-prod"]["steps"] if s.get("run") != "make .venv/.installed"
    ]
    assert install_violations(broken) == ["job deploy-prod: uses .venv without `make .venv/.installed`"]


# ------------------------------------------------------------------------------- least privilege (issue 13.10)

JOB_PURPOSES = {
    ("pull-request.yml", "preview-prod"): Purpose.PREVIEW,
    ("main.yml", "deploy-prod"): Purpose.DEPLOY,
    ("drift.yml", "drift-prod"): Purpose.DRIFT,
}
"""The only jobs that get an OIDC token, and whose bootstrap roles they assume."""


def credential_violations(name: str, document: dict[str, Any]) -> list[str]:
    """Jobs whose token, environment or roles differ from what the bootstrap project trusts for their purpose."""
    found = []
    for job_id, job in document["jobs"].items():
        purpose = JOB_PURPOSES.get((name, job_id))
        has_token = permission(document, job, "id-token") == "write"
        if purpose is None:
            if has_token:
                found.append(f"{job_id}: holds an OIDC token but no bootstrap role trusts it")
            continue
        spec = PURPOSES[purpose]
        if not has_token:
            found.append(f"{job_id}: needs id-token: write")
        if environment_name(job) != spec.environment:
            found.append(f"{job_id}: environment {environment_name(job)!r}, its roles trust {spec.environment!r}")
        if permission(document, job, "pull-requests") not in (None, "none"):
            found.append(f"{job_id}: a credentialed job must not write to pull requests")
        for step in job.get("steps") or []:
            inputs = step.get("with") or {}
            if str(step.get("uses", "")).startswith("hashicorp/vault-action@"):
                expected = {"path": VAULT_JWT_MOUNT, "role": VAULT_ROLES[purpose], "jwtGithubAudience": VAULT_AUDIENCE}
                actual = {key: inputs.get(key) for key in expected}
                if actual != expected:
                    found.append(f"{job_id}: Vault login {actual}, bootstrap creates {expected}")
            if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"):
                role = "arn:aws:iam::${{ vars.AWS_ACCOUNT_ID }}:role/" + AWS_ROLES[purpose]
                if inputs.get("role-to-assume") != role:
                    found.append(f"{job_id}: assumes {inputs.get('role-to-assume')!r}, bootstrap creates {role!r}")
    return found


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_only_the_purpose_jobs_hold_credentials_with_the_roles_bootstrap_creates(path: Any) -> None:
    assert credential_violations(path.name, load_workflow(path)) == []


def test_every_purpose_has_its_job() -> None:
    assert sorted(JOB_PURPOSES.values()) == sorted(Purpose)
    for (name, job_id), purpose in JOB_PURPOSES.items():
        job = workflow(name)["jobs"][job_id]
        actions = {s.action for s in steps(name) if s.job_id == job_id}
        assert {"aws-actions/configure-aws-credentials", "hashicorp/vault-action"} <= actions, (name, job_id)
        if purpose is Purpose.DRIFT:
            assert "environment" not in job, "an environment would change the drift job's subject from its ref"
            assert "schedule" in triggers(workflow(name)), "the scheduled run on main is what the drift role trusts"


def _with(job: dict[str, Any], action_prefix: str) -> dict[str, Any]:
    """The ``with`` inputs of the job's step using an action (for breaking a copy)."""
    step = next(s for s in job["steps"] if str(s.get("uses", "")).startswith(action_prefix))
    inputs: dict[str, Any] = step["with"]
    return inputs


@pytest.mark.parametrize(
    ("name", "job_id", "mutate", "expected"),
    [
        ("pull-request.yml", "preview-prod", lambda job: job.pop("environment"), "environment None"),
        ("pull-request.yml", "preview-prod", lambda job: job.update(environment="production"), "environment"),
        ("pull-request.yml", "preview-prod", lambda job: job["permissions"].update({"pull-requests": "write"}), "pull"),
        ("main.yml", "deploy-prod", lambda job: _with(job, "hashicorp/").update(role="secure-mesh-preview"), "Vault"),
        ("main.yml", "deploy-prod", lambda job: _with(job, "hashicorp/").update(path="jwt"), "Vault"),
        ("main.yml", "deploy-prod", lambda job: _with(job, "aws-actions/").update({"role-to-assume": "x"}), "assumes"),
        ("drift.yml", "drift-prod", lambda job: job.update(environment="production"), "environment"),
        ("drift.yml", "drift-dev", lambda job: job.update(permissions={"id-token": "write"}), "no bootstrap role"),
        ("pull-request.yml", "comment", lambda job: job["permissions"].update({"id-token": "write"}), "no bootstrap"),
    ],
)
def test_the_credential_check_catches_a_broken_job(name: str, job_id: str, mutate: Any, expected: str) -> None:
    broken = copy.deepcopy(workflow(name))
    mutate(broken["jobs"][job_id])
    violations = credential_violations(name, broken)
    assert violations and all(v.startswith(f"{job_id}:") for v in violations), violations
    assert any(expected in v for v in violations), violations


def comment_job_violations(document: dict[str, Any]) -> list[str]:
    """The comment job must hold nothing but ``pull-requests: write``: no token, no code, no cloud credentials."""
    job = document["jobs"]["comment"]
    found = []
    if job.get("permissions") != {"pull-requests": "write"}:
        found.append(f"permissions {job.get('permissions')}")
    credentialed = ("actions/checkout", "aws-actions/", "hashicorp/vault-action", "pulumi/actions")
    for step in job.get("steps") or []:
        if str(step.get("uses", "")).startswith(credentialed):
            found.append(f"step uses {step['uses']}")
    if sorted(job.get("needs") or []) != ["preview-dev", "preview-prod"]:
        found.append(f"needs {job.get('needs')}")
    return found


def test_the_comment_is_posted_by_a_job_without_credentials_from_the_preview_artifacts() -> None:
    document = workflow("pull-request.yml")
    assert comment_job_violations(document) == []
    job_steps = _job_steps("pull-request.yml", "comment")
    (download,) = [s for s in job_steps if s.action == "actions/download-artifact"]
    assert download.inputs == {"pattern": "preview-*", "path": "preview", "merge-multiple": True}
    (post,) = [s for s in job_steps if "gh pr comment" in str(s.step.get("run"))]
    assert post.step["env"] == {
        "GH_TOKEN": "${{ github.token }}",
        "GH_REPO": "${{ github.repository }}",
        "PR_NUMBER": "${{ github.event.pull_request.number }}",
    }
    for stack in DEPLOYED_STACKS:
        assert "preview/${stack}.txt" in post.step["run"] and stack in post.step["run"]
    for mutate in (
        lambda job: job["permissions"].update({"id-token": "write"}),
        lambda job: job["steps"].insert(0, {"uses": "actions/checkout@" + "0" * 40}),
        lambda job: job.update(needs=["preview-prod"]),
    ):
        broken = copy.deepcopy(document)
        mutate(broken["jobs"]["comment"])
        assert comment_job_violations(broken) != []


def test_the_prod_preview_runs_in_the_preview_environment_with_read_only_roles() -> None:
    job = workflow("pull-request.yml")["jobs"]["preview-prod"]
    assert environment_name(job) == PREVIEW_ENVIRONMENT
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    (pulumi_step,) = _pulumi_steps("pull-request.yml", "preview-prod")
    assert pulumi_step.inputs["command"] == "preview", "the preview credentials are for preview only"
    assert "refresh" not in pulumi_step.inputs, "the preview role may not read KV data, which a refresh would"


def test_example_stacks_are_checked_offline_but_never_deployed() -> None:
    assert set(EXAMPLE_STACKS) <= set(STACKS), "every example stack has its stack file"
    named = {
        s.inputs.get("stack-name") for s in steps() if s.action == "pulumi/actions" and s.inputs.get("stack-name")
    }
    assert named.isdisjoint(EXAMPLE_STACKS), f"CI must not preview or deploy the examples: {named}"
