"""The scheduled CA expiry check: a CronJob that reads every CA's live certificate and fails before a threshold.

The CronJob runs ``scripts/ca-expiry-check.sh`` in the Consul image (which ships ``curl``, ``jq`` and ``openssl``:
hashicorp/consul Dockerfile). It reads each Vault-held CA at ``<mount>/ca/pem`` (unauthenticated in Vault's PKI
backend) and Consul's active Connect root and intermediates at ``/v1/connect/ca/roots`` ("ACL Required: none"),
so it holds no credential at all: no service-account token is mounted, no Vault role or Consul token exists.
A run fails (the Job's pod exits non-zero, ``kube_job_failed`` for alerting) naming each CA that expires within
``thresholdDays``, or that cannot be read. Plain data here, no settings or layout: the composition fills it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from ..workloads import restricted_container

SCRIPT_FILE = "ca-expiry-check.sh"
CA_EXPIRY_SCRIPT = Path(__file__).parent / "scripts" / SCRIPT_FILE
"""The check's script, shipped in a ConfigMap (the only thing it needs besides the image)."""
SCRIPT_DIR = "/check"
VAULT_CA_DIR = "/vault/tls"
CALL_SECONDS = 30
"""How long one HTTP call may take before the run fails as unreadable."""
DEADLINE_SECONDS = 600
"""A run's ``activeDeadlineSeconds``: every call is bounded, so a run needs far less."""


@dataclass(frozen=True)
class CaExpiryCheckArgs:
    """What the CronJob names, as plain values."""

    name: str
    """The CronJob's and ConfigMap's name (``<fullname>-ca-expiry-check``)."""
    namespace: str
    """Consul's namespace."""
    schedule: str
    """The cron schedule (UTC)."""
    threshold_days: int
    """A CA expiring within this many days fails the run."""
    vault_address: str
    """Vault's address as pods reach it."""
    vault_ca_mounts: Sequence[str]
    """Every Vault PKI mount holding a CA, checked at ``<mount>/ca/pem``."""
    consul_https_address: str
    """Consul's HTTPS API inside the cluster (``host:port``)."""
    consul_ca_mount: str
    """The server chain's issuing mount: its ``ca_chain`` (read from Vault at run time) verifies Consul's API."""
    image: str
    """The Consul image (pinned like every image of the program)."""
    vault_namespace: str | None = None
    """Vault Enterprise namespace, if any."""
    vault_ca_secret: tuple[str, str] | None = None
    """(Secret name, key) holding Vault's CA in the namespace, when Vault's certificate is not publicly trusted."""


def cron_job(args: CaExpiryCheckArgs) -> dict[str, Any]:
    """The CronJob (metadata and spec): one run at a time, bounded, non-root, read-only, no token, no mesh sidecar."""
    restricted = restricted_container(65534, seccomp=True)
    env = [
        {"name": "THRESHOLD_DAYS", "value": str(args.threshold_days)},
        {"name": "VAULT_ADDR", "value": args.vault_address},
        {"name": "VAULT_CA_MOUNTS", "value": " ".join(args.vault_ca_mounts)},
        {"name": "CONSUL_HTTP_ADDR", "value": f"https://{args.consul_https_address}"},
        {"name": "CONSUL_CA_MOUNT", "value": args.consul_ca_mount},
        {"name": "CALL_SECONDS", "value": str(CALL_SECONDS)},
        {"name": "TMPDIR", "value": "/tmp"},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "check", "mountPath": SCRIPT_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "check", "configMap": {"name": args.name}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Mi"}},
    ]
    if args.vault_namespace is not None:
        env.append({"name": "VAULT_NAMESPACE", "value": args.vault_namespace})
    if args.vault_ca_secret is not None:
        secret, key = args.vault_ca_secret
        env.append({"name": "VAULT_CACERT", "value": f"{VAULT_CA_DIR}/{key}"})
        mounts.append({"name": "vault-ca", "mountPath": VAULT_CA_DIR, "readOnly": True})
        volumes.append({"name": "vault-ca", "secret": {"secretName": secret}})
    labels = {"app.kubernetes.io/name": "ca-expiry-check", "app.kubernetes.io/part-of": "secure-mesh"}
    return {
        "metadata": {"name": args.name, "namespace": args.namespace, "labels": labels},
        "spec": {
            "schedule": args.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": DEADLINE_SECONDS,
                    "template": {
                        "metadata": {
                            "labels": labels,
                            "annotations": {"consul.hashicorp.com/connect-inject": "false"},
                        },
                        "spec": {
                            "automountServiceAccountToken": False,
                            "restartPolicy": "Never",
                            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                            "containers": [
                                {
                                    "name": "check",
                                    "image": args.image,
                                    "command": ["/bin/sh", f"{SCRIPT_DIR}/{SCRIPT_FILE}"],
                                    "env": env,
                                    "securityContext": restricted,
                                    "resources": {
                                        "requests": {"cpu": "10m", "memory": "32Mi"},
                                        "limits": {"memory": "64Mi"},
                                    },
                                    "volumeMounts": mounts,
                                }
                            ],
                            "volumes": volumes,
                        },
                    },
                },
            },
        },
    }


class CaExpiryCheck:
    """The ConfigMap (the script) and the CronJob, registered under ``parent``.

    The ConfigMap holds only known-at-preview text (the policy pack reads all of it in ``pulumi preview``); Consul's
    server CA is read from Vault by the script at run time.
    """

    def __init__(
        self, name: str, args: CaExpiryCheckArgs, consul_release: pulumi.Input[str], parent: pulumi.Resource
    ) -> None:
        manifest = cron_job(args)
        self.config_map = kubernetes.core.v1.ConfigMap(
            f"{name}-script",
            # In Consul's namespace, which exists once the release does.
            metadata=pulumi.Output.from_input(consul_release).apply(
                lambda _: {"name": args.name, "namespace": args.namespace}
            ),
            data={SCRIPT_FILE: CA_EXPIRY_SCRIPT.read_text()},
            opts=pulumi.ResourceOptions(parent=parent),
        )
        self.cron_job = kubernetes.batch.v1.CronJob(
            name,
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            # Its pods mount the ConfigMap by name; Kubernetes checks that only when a pod starts.
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[self.config_map]),
        )
