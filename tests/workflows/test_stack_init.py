"""`make stack-init`: the right secrets provider per environment, against a pulumi stub that fails like the CLI."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import PROJECT_DIR

SCRIPT = PROJECT_DIR / "scripts" / "stack-init.sh"
STUB = Path(__file__).with_name("stub_pulumi_stack.sh")
BACKEND = "s3://example-secure-mesh-state?region=eu-west-1"
KMS = "awskms://alias/secure-mesh-prod-secrets?region=eu-west-1"


@dataclass
class Box:
    """A scratch copy of the repository's stack files and the script, with the pulumi stub on PATH."""

    root: Path
    state: Path
    env: dict[str, str]

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(self.root / "scripts" / "stack-init.sh"), *args],
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def stub(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pulumi", *args], cwd=self.root, env={**self.env, **env}, capture_output=True, text=True, check=False
        )

    def calls(self) -> list[str]:
        log = self.state / "calls.log"
        lines = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return lines

    def stack_file(self, stack: str) -> str:
        return (self.root / f"Pulumi.{stack}.yaml").read_text()


@pytest.fixture
def box(tmp_path: Path) -> Box:
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, root / "scripts" / SCRIPT.name)
    for stack in ("dev", "prod"):
        shutil.copy(PROJECT_DIR / f"Pulumi.{stack}.yaml", root / f"Pulumi.{stack}.yaml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(STUB, bin_dir / "pulumi")
    (bin_dir / "pulumi").chmod(0o755)
    state = tmp_path / "stub-state"
    state.mkdir()
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "STUB_STATE": str(state),
        "PULUMI_BACKEND_URL": BACKEND,
    }
    return Box(root, state, env)


def test_the_script_and_the_stub_pass_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not on PATH (CI installs it: apt-get install -y shellcheck)")
    result = subprocess.run([shellcheck, str(SCRIPT), str(STUB)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_stub_fails_like_pulumi_stack_init(box: Box) -> None:
    first = box.stub("stack", "init", "prod", "--secrets-provider", KMS, "--non-interactive")
    assert (first.returncode, first.stdout) == (0, "Created stack 'prod'\n")
    again = box.stub("stack", "init", "prod", "--secrets-provider", KMS, "--non-interactive")
    assert (again.returncode, again.stderr) == (255, "error: stack 'prod' already exists\n")
    no_passphrase = box.stub("stack", "init", "dev", "--secrets-provider", "passphrase", "--non-interactive")
    assert no_passphrase.returncode == 255
    assert "passphrase must be set with PULUMI_CONFIG_PASSPHRASE" in no_passphrase.stderr
    no_backend = box.stub("stack", "init", "x", "--secrets-provider", KMS, PULUMI_BACKEND_URL="")
    assert no_backend.returncode == 255


def test_prod_is_created_with_the_kms_key_and_records_it(box: Box) -> None:
    before = box.stack_file("prod")
    result = box.run("prod", "alias/secure-mesh-prod-secrets", AWS_REGION="eu-west-1")
    assert result.returncode == 0, result.stderr
    assert box.calls() == [f"pulumi stack init prod --secrets-provider {KMS} --non-interactive"]
    assert box.stack_file("prod") == before + f"secretsprovider: {KMS}\nencryptedkey: c3R1Yi1lbmNyeXB0ZWQta2V5\n"
    assert "commit Pulumi.prod.yaml" in result.stdout


@pytest.mark.parametrize(
    ("args", "env", "provider"),
    [
        (("prod", KMS), {}, KMS),
        (
            ("prod",),
            {"SECURE_MESH_SECRETS_KEY": "alias/k", "AWS_DEFAULT_REGION": "us-east-1"},
            "awskms://alias/k?region=us-east-1",
        ),
        (
            ("prod", "1234abcd-12ab-34cd-56ef-1234567890ab"),
            {"AWS_REGION": "eu-west-1"},
            "awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=eu-west-1",
        ),
    ],
)
def test_every_documented_key_form_becomes_an_awskms_url(
    box: Box, args: tuple[str, ...], env: dict[str, str], provider: str
) -> None:
    result = box.run(*args, **env)
    assert result.returncode == 0, result.stderr
    assert box.calls() == [f"pulumi stack init prod --secrets-provider {provider} --non-interactive"]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("prod",), {}, "needs a KMS key"),
        (("prod", "alias/secure-mesh-prod-secrets"), {}, "set AWS_REGION"),
        (("prod", "awskms://alias/k"), {}, "names no region"),
        (("prod", "passphrase"), {}, "is not alias/NAME, a key ID or an awskms:// URL"),
        (("prod", KMS), {"PULUMI_BACKEND_URL": ""}, "set PULUMI_BACKEND_URL"),
        (("dev", KMS), {"PULUMI_CONFIG_PASSPHRASE": "x"}, "uses the passphrase provider, not a KMS key"),
        (("dev",), {}, "set PULUMI_CONFIG_PASSPHRASE"),
        (("staging", KMS), {}, "no Pulumi.staging.yaml"),
        (("prod;rm", KMS), {}, "invalid stack name"),
        ((), {}, "usage:"),
    ],
)
def test_it_refuses_before_calling_pulumi(box: Box, args: tuple[str, ...], env: dict[str, str], message: str) -> None:
    result = box.run(*args, **env)
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stderr.count("\n") <= 2, "one clear error, no trace"
    assert box.calls() == []


def test_dev_uses_the_passphrase_provider(box: Box) -> None:
    result = box.run("dev", PULUMI_CONFIG_PASSPHRASE="secret")
    assert result.returncode == 0, result.stderr
    assert box.calls() == ["pulumi stack init dev --secrets-provider passphrase --non-interactive"]
    assert re.search(r"^encryptionsalt: ", box.stack_file("dev"), re.MULTILINE)


def test_a_rerun_leaves_an_existing_stack_with_the_same_provider_alone(box: Box) -> None:
    assert box.run("prod", KMS).returncode == 0
    after_first = box.stack_file("prod")
    box.calls()
    result = box.run("prod", KMS)
    assert result.returncode == 0, result.stderr
    assert "already exists with this secrets provider; nothing to do" in result.stdout
    assert box.calls() == [f"pulumi stack init prod --secrets-provider {KMS} --non-interactive"]
    assert box.stack_file("prod") == after_first


def test_an_existing_stack_with_another_provider_is_not_silently_accepted(box: Box) -> None:
    assert box.run("prod", KMS).returncode == 0
    result = box.run("prod", "awskms://alias/other?region=eu-west-1")
    assert result.returncode == 1
    assert f"already exists with secrets provider '{KMS}'" in result.stderr
    assert "pulumi stack change-secrets-provider --stack prod" in result.stderr


def test_make_stack_init_passes_the_stack_and_key() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert re.search(r"^stack-init:\n\tscripts/stack-init\.sh \$\(STACK\) \$\(KMS_KEY\)$", makefile, re.MULTILINE)
