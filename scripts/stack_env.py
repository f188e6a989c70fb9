"""What the shell scripts and workflows need to know about a stack, read from its own ``Pulumi.<stack>.yaml``.

``scripts/dev-up.sh`` and ``scripts/dev-down.sh`` evaluate ``stack_env.py dev-shell`` so the kind cluster,
Vault's Helm release and namespace, the chart pins, the injector's auth path, the port-forward and the
local Pulumi backend all follow from the dev stack's settings and the program's layout (nothing is spelt
twice). The workflows append ``stack_env.py github-env <stack>`` to ``$GITHUB_ENV`` for the same reason,
and the integration tests import :func:`dev_environment` to find what ``dev-up.sh`` created.

What ``dev-up.sh`` hands to the laptop Vault (its TLS material, the chart's values) is built by
``scripts/dev_vault.py`` from the names printed here.

Usage: ``python scripts/stack_env.py dev-shell`` or ``python scripts/stack_env.py github-env prod``.
"""

from __future__ import annotations

import base64
import shlex
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere: the program's modules live at the root
    sys.path.insert(0, str(REPO_ROOT))

from scripts import dev_vault  # noqa: E402
from secure_mesh.consul.vault_injector import VAULT_CHART_VERSION  # noqa: E402
from secure_mesh.layout import VAULT_CHART_NAME, VAULT_CHART_REPOSITORY, Layout  # noqa: E402
from secure_mesh.onboarding.gateway import (  # noqa: E402
    SECRETS_STORE_CSI_DRIVER_CHART,
    SECRETS_STORE_CSI_DRIVER_REPOSITORY,
    SECRETS_STORE_CSI_DRIVER_VERSION,
)
from secure_mesh.onboarding.plan import rotation_poll_interval  # noqa: E402
from secure_mesh.settings import RootCustody, Settings, load_settings, split_stack_config  # noqa: E402

DEV_STACK = "dev"
"""The stack the laptop environment (and the integration tests) deploy."""

STATE_DIR_NAME = ".pulumi-state"
"""Under the repository: the local Pulumi backend (``file://``), the Vault dev token, the port-forward's pid."""

DEV_PASSPHRASE = "secure-mesh-dev"
"""Default ``PULUMI_CONFIG_PASSPHRASE`` of the dev stack only. Not a secret: it encrypts the secrets of a
throwaway laptop stack whose state never leaves ``.pulumi-state``; set the variable to use your own."""


KIND_CONTEXT_PREFIX = "kind-"

MARKER_PATH = "secret/data/secure-mesh-dev-up"
"""The KV-v2 entry ``dev-up.sh`` writes into the dev Vault (its default ``secret/`` mount) before ``pulumi up``.
The dev server keeps everything in memory, so after a restart of the pod, of Docker or of the laptop the entry is
gone while Pulumi's state still lists every Vault resource: its absence makes ``dev-up.sh`` run ``pulumi refresh``."""


class StackEnvError(ValueError):
    """The stack's settings cannot describe the environment a script expects (names the config key)."""


def load_stack_settings(stack: str, repo_root: Path = REPO_ROOT) -> Settings:
    """Validate one checked-in ``Pulumi.<stack>.yaml`` exactly as the program does."""
    path = repo_root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackEnvError(f"{path.name} not found: there is no stack '{stack}'")
    document = yaml.safe_load(path.read_text()) or {}
    plain, secret_keys = split_stack_config(document.get("config") or {})
    return load_settings(plain, secret_keys)


@dataclass(frozen=True)
class DevEnvironment:
    """The laptop environment ``dev-up.sh`` builds for the dev stack: every name it creates or talks to."""

    stack: str
    kube_context: str
    kind_cluster: str
    vault_namespace: str
    vault_release: str
    vault_service: str
    vault_service_port: int
    vault_chart: str
    vault_chart_repository: str
    vault_chart_version: str
    vault_injector_auth_path: str
    local_vault_addr: str
    local_vault_port: int
    csi_driver_chart: str
    csi_driver_repository: str
    csi_driver_version: str
    csi_driver_release: str
    csi_driver_namespace: str
    csi_rotation_poll_interval: str
    state_dir: str
    backend_url: str
    dev_passphrase: str
    vault_token_file: str
    vault_values_file: str
    vault_ca_file: str
    vault_tls_secret: str
    vault_tls_names: str
    vault_csi_ca_directory: str
    vault_csi_ca_key: str
    vault_marker_path: str
    port_forward_pid_file: str
    port_forward_log_file: str
    shell_env_file: str

    def as_shell(self) -> str:
        """``NAME='value'`` lines (upper-case field names) for ``eval`` in a POSIX shell."""
        return "".join(f"{key.upper()}={shlex.quote(str(value))}\n" for key, value in asdict(self).items())


def dev_environment(settings: Settings, repo_root: Path = REPO_ROOT) -> DevEnvironment:
    """Derive the laptop environment from the dev stack's settings; fail naming the key that does not fit."""
    layout = Layout(settings)
    context = settings.kubernetes.context
    if context is None or not context.startswith(KIND_CONTEXT_PREFIX):
        raise StackEnvError(
            f"kubernetes.context: the dev environment is a kind cluster, so the context must be "
            f"'{KIND_CONTEXT_PREFIX}<cluster>'; it is {context!r}"
        )
    in_cluster = urlsplit(settings.vault.address)
    host_parts = (in_cluster.hostname or "").split(".")
    if in_cluster.scheme != "https" or len(host_parts) < 3 or host_parts[2] != "svc":
        raise StackEnvError(
            "vault.address: the dev Vault is the chart's in-cluster dev server with TLS, reached as "
            f"https://<service>.<namespace>.svc[.cluster.local]:<port>; it is {settings.vault.address!r}"
        )
    service, namespace = host_parts[0], host_parts[1]
    if namespace != layout.vault_namespace:
        raise StackEnvError(
            f"vault.address: Vault's pods live in namespace '{layout.vault_namespace}' (Consul keeps them out "
            f"of the mesh by that name); the address names namespace '{namespace}'"
        )
    if VAULT_CHART_NAME not in service:
        raise StackEnvError(
            f"vault.address: the Vault chart names its service after the release only when the release name "
            f"contains '{VAULT_CHART_NAME}'; '{service}' does not"
        )
    local_addr = settings.vault.provider_address or settings.vault.address
    local = urlsplit(local_addr)
    if local.scheme != "https" or local.hostname != "127.0.0.1" or local.port is None:
        raise StackEnvError(
            "vault.providerAddress: on a laptop the program reaches the dev Vault through a port-forward, "
            f"https://127.0.0.1:<port> (the IP its certificate names); it is {local_addr!r}"
        )
    ca_file = settings.vault.tls.ca_cert_file
    if ca_file is None:
        raise StackEnvError(
            "vault.tls.caCertFile: dev-up creates the laptop Vault's CA and writes it to this file; "
            "set it (e.g. '.pulumi-state/vault-ca.pem')"
        )
    state_dir = repo_root / STATE_DIR_NAME
    cluster_domain = ".".join(host_parts[3:]) if len(host_parts) > 3 else "cluster.local"
    # Every name Vault is reached by: pods use the address (and the chart's injector and CSI agent
    # '<service>.<namespace>.svc', vault-helm 0.30.1 templates/injector-deployment.yaml and
    # csi-agent-configmap.yaml); the program and the integration tests use the port-forward at 127.0.0.1.
    names = [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.{cluster_domain}",
        "localhost",
        "127.0.0.1",
    ]
    return DevEnvironment(
        stack=DEV_STACK,
        kube_context=context,
        kind_cluster=context[len(KIND_CONTEXT_PREFIX) :],
        vault_namespace=namespace,
        vault_release=service,
        vault_service=service,
        vault_service_port=in_cluster.port or 8200,
        vault_chart=VAULT_CHART_NAME,
        vault_chart_repository=VAULT_CHART_REPOSITORY,
        vault_chart_version=VAULT_CHART_VERSION,
        vault_injector_auth_path=layout.kubernetes_auth_login_path,
        local_vault_addr=f"{local.scheme}://{local.hostname}:{local.port}",
        local_vault_port=local.port,
        csi_driver_chart=SECRETS_STORE_CSI_DRIVER_CHART,
        csi_driver_repository=SECRETS_STORE_CSI_DRIVER_REPOSITORY,
        csi_driver_version=SECRETS_STORE_CSI_DRIVER_VERSION,
        csi_driver_release=layout.csi_driver_release_name,
        csi_driver_namespace=layout.csi_driver_namespace,
        csi_rotation_poll_interval=rotation_poll_interval(settings),
        state_dir=str(state_dir),
        backend_url=f"file://{state_dir}",
        dev_passphrase=DEV_PASSPHRASE,
        vault_token_file=str(state_dir / "vault-dev-root-token"),
        vault_values_file=str(state_dir / "vault-values.yaml"),
        vault_ca_file=str(repo_root / ca_file),
        vault_tls_secret=f"{service}-dev-tls",
        vault_tls_names=",".join(names),
        vault_csi_ca_directory=layout.vault_csi_ca_directory,
        vault_csi_ca_key=layout.vault_ca_secret_key,
        vault_marker_path=MARKER_PATH,
        port_forward_pid_file=str(state_dir / "vault-port-forward.pid"),
        port_forward_log_file=str(state_dir / "vault-port-forward.log"),
        shell_env_file=str(state_dir / "dev.env"),
    )


def dev_tls_files(env: DevEnvironment) -> dict[str, bytes]:
    """The laptop Vault's TLS material for ``env`` (see :func:`scripts.dev_vault.tls_files`)."""
    return dev_vault.tls_files(env.kind_cluster, env.vault_tls_names.split(","))


def dev_vault_values(env: DevEnvironment, root_token: str) -> dict[str, Any]:
    """The Vault chart's values for ``env`` (see :func:`scripts.dev_vault.vault_values`)."""
    return dev_vault.vault_values(
        root_token, env.vault_tls_secret, env.vault_injector_auth_path, env.vault_csi_ca_directory, env.vault_csi_ca_key
    )


def github_env(settings: Settings) -> dict[str, str]:
    """``SM_*`` variables a workflow needs to reach a stack's Vault and cluster (no credentials: OIDC gets those)."""
    vault = settings.vault
    # A CA file (the laptop Vault's) is not in the stack file: dev-up.sh exports VAULT_CACERT for it instead.
    ca_pem = vault.tls.ca_cert_pem if vault.tls.ca_cert_file is None else None
    values = {
        "SM_KUBE_CONTEXT": settings.kubernetes.context or "",
        "SM_VAULT_ADDR": vault.provider_address or vault.address,
        "SM_VAULT_NAMESPACE": vault.namespace or "",
        "SM_VAULT_TLS_SERVER_NAME": vault.tls.server_name or "",
        "SM_VAULT_CA_BASE64": base64.b64encode(ca_pem.encode()).decode() if ca_pem else "",
        "SM_AWS_REGION": "",
    }
    if settings.pki.root_custody is RootCustody.AWS_KMS and settings.pki.aws_kms is not None:
        values["SM_AWS_REGION"] = settings.pki.aws_kms.region
    return values


def main(argv: list[str]) -> int:
    """Print the dev environment as shell assignments, or a stack's workflow variables as ``$GITHUB_ENV`` lines."""
    usage = "usage: stack_env.py dev-shell | stack_env.py github-env <stack>"
    try:
        if argv == ["dev-shell"]:
            sys.stdout.write(dev_environment(load_stack_settings(DEV_STACK)).as_shell())
            return 0
        if len(argv) == 2 and argv[0] == "github-env":
            sys.stdout.write("".join(f"{k}={v}\n" for k, v in github_env(load_stack_settings(argv[1])).items()))
            return 0
    except (StackEnvError, ValueError) as error:
        sys.stderr.write(f"stack_env: {error}\n")
        return 1
    sys.stderr.write(usage + "\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
