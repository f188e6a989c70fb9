"""The scheduled CA expiry check as the program registers it: the whole CronJob and ConfigMap, under mocks."""

from __future__ import annotations

from typing import Any

from secure_mesh.pki.expiry_check import CA_EXPIRY_SCRIPT
from tests.conftest import stack_run
from tests.harness import deep_merge, load_stack_config, run_program

from .helpers import dependency_names

CRON_JOB = "kubernetes:batch/v1:CronJob"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
LABELS = {"app.kubernetes.io/name": "ca-expiry-check", "app.kubernetes.io/part-of": "secure-mesh"}
RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": 65534,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def expected_cron_job(*, name: str, vault: str, mounts: str, consul: str, image: str, extra_env: list[Any]) -> Any:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": "consul", "labels": LABELS},
        "spec": {
            "schedule": "17 6 * * *",
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": 600,
                    "template": {
                        "metadata": {"labels": LABELS, "annotations": {"consul.hashicorp.com/connect-inject": "false"}},
                        "spec": {
                            "automountServiceAccountToken": False,
                            "restartPolicy": "Never",
                            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                            "containers": [
                                {
                                    "name": "check",
                                    "image": image,
                                    "command": ["/bin/sh", "/check/ca-expiry-check.sh"],
                                    "env": [
                                        {"name": "THRESHOLD_DAYS", "value": "30"},
                                        {"name": "VAULT_ADDR", "value": vault},
                                        {"name": "VAULT_CA_MOUNTS", "value": mounts},
                                        {"name": "CONSUL_HTTP_ADDR", "value": f"https://{consul}.consul.svc:8501"},
                                        {"name": "CONSUL_CA_MOUNT", "value": "consul/server/pki_int2"},
                                        {"name": "CALL_SECONDS", "value": "30"},
                                        {"name": "TMPDIR", "value": "/tmp"},
                                        *extra_env,
                                    ],
                                    "securityContext": RESTRICTED,
                                    "resources": {
                                        "requests": {"cpu": "10m", "memory": "32Mi"},
                                        "limits": {"memory": "64Mi"},
                                    },
                                    "volumeMounts": [
                                        {"name": "check", "mountPath": "/check", "readOnly": True},
                                        {"name": "tmp", "mountPath": "/tmp"},
                                        {"name": "vault-ca", "mountPath": "/vault/tls", "readOnly": True},
                                    ],
                                }
                            ],
                            "volumes": [
                                {"name": "check", "configMap": {"name": name}},
                                {"name": "tmp", "emptyDir": {"sizeLimit": "1Mi"}},
                                {
                                    "name": "vault-ca",
                                    "secret": {"secretName": f"{consul.removesuffix('-server')}-vault-ca"},
                                },
                            ],
                        },
                    },
                },
            },
        },
    }


def test_prod_registers_the_whole_cron_job_with_every_vault_ca_and_no_credential() -> None:
    run = stack_run("prod")
    cron = run.one(CRON_JOB)
    image = cron.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("hashicorp/consul:") and "@sha256:" in image  # the program's pinned Consul image
    assert cron.inputs == expected_cron_job(
        name="consul-consul-ca-expiry-check",
        vault="https://vault.prod.example.com:8200",
        # Custody aws-kms: no root mount in Vault (the root's expiry is pkiNotAfter.root); every level of every chain.
        mounts="consul/server/pki_int1 consul/server/pki_int2 consul/connect/pki_int1 consul/connect/pki_int2 "
        "consul/gateway/pki_int1 consul/gateway/pki_int2 consul/webhook/pki_int1",
        consul="consul-consul-server",
        image=image,
        extra_env=[{"name": "VAULT_CACERT", "value": "/vault/tls/tls.crt"}],
    )
    script = run.one(CONFIG_MAP, "secure-mesh-ca-expiry-check-script")
    assert script.inputs == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "consul-consul-ca-expiry-check", "namespace": "consul"},
        "data": {"ca-expiry-check.sh": CA_EXPIRY_SCRIPT.read_text()},
    }
    # The pods mount the script by name; the ConfigMap waits for Consul's namespace (the release).
    assert dependency_names(run, cron) == {"secure-mesh-ca-expiry-check-script"}
    assert dependency_names(run, script) == {"secure-mesh-consul-release"}
    # No credential anywhere: no service account token, no Vault role or Consul token for the check.
    assert not [r for r in run.resources if "expiry" in r.name and r.type not in (CRON_JOB, CONFIG_MAP)]


def test_dev_checks_its_vault_root_too() -> None:
    cron = stack_run("dev").one(CRON_JOB)
    env = {
        e["name"]: e["value"]
        for e in cron.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["VAULT_CA_MOUNTS"].split() == [
        "consul/pki_root",
        "consul/server/pki_int1",
        "consul/server/pki_int2",
        "consul/connect/pki_int1",
        "consul/connect/pki_int2",
        "consul/gateway/pki_int1",
        "consul/webhook/pki_int1",
    ]


def test_disabled_registers_nothing_and_threshold_and_schedule_flow_through() -> None:
    config = load_stack_config("dev")
    off = run_program(deep_merge(config, {"pki": {"expiryCheck": {"enabled": False}}}), stack="dev")
    assert [r.name for r in off.resources if "expiry" in r.name] == []
    tuned = run_program(
        deep_merge(config, {"pki": {"expiryCheck": {"thresholdDays": 90, "schedule": "0 3 * * 1"}}}), stack="dev"
    )
    spec = tuned.one(CRON_JOB).inputs["spec"]
    assert spec["schedule"] == "0 3 * * 1"
    env = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "THRESHOLD_DAYS", "value": "90"}
