"""The resource type tokens the rules look at, exactly as the installed providers register them.

Each token was checked against the ``super().__init__('<token>', ...)`` call (or the
``@pulumi.type_token(...)`` decorator) of its class in pulumi-vault 7.14, pulumi-consul 3.15,
pulumi-kubernetes 4.34 and pulumi-random 4.21, so a rule can never silently miss a resource because
of a misspelt type.
"""

from __future__ import annotations

# Vault: mounts, policies, auth
MOUNT = "vault:index/mount:Mount"
POLICY = "vault:index/policy:Policy"
AUTH_BACKEND = "vault:index/authBackend:AuthBackend"
K8S_AUTH_ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
OIDC_KEY = "vault:identity/oidcKey:OidcKey"
OIDC_ROLE = "vault:identity/oidcRole:OidcRole"
K8S_AUTH_CONFIG = "vault:kubernetes/authBackendConfig:AuthBackendConfig"

VAULT_PROVIDER = "pulumi:providers:vault"
TOKEN = "vault:index/token:Token"
GENERIC_SECRET = "vault:generic/secret:Secret"
GENERIC_ENDPOINT = "vault:generic/endpoint:Endpoint"

# Vault database secrets engine
DB_MOUNT = "vault:database/secretsMount:SecretsMount"
DB_ROLE = "vault:database/secretBackendRole:SecretBackendRole"
DB_STATIC_ROLE = "vault:database/secretBackendStaticRole:SecretBackendStaticRole"
DB_CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"

# Vault PKI
PKI_ROLE = "vault:pkiSecret/secretBackendRole:SecretBackendRole"
PKI_ROOT_CERT = "vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert"
PKI_INT_REQUEST = "vault:pkiSecret/secretBackendIntermediateCertRequest:SecretBackendIntermediateCertRequest"
PKI_SIGN_INTERMEDIATE = "vault:pkiSecret/secretBackendRootSignIntermediate:SecretBackendRootSignIntermediate"
PKI_SET_SIGNED = "vault:pkiSecret/secretBackendIntermediateSetSigned:SecretBackendIntermediateSetSigned"
PKI_ISSUER = "vault:pkiSecret/secretBackendIssuer:SecretBackendIssuer"
PKI_KEY = "vault:pkiSecret/secretBackendKey:SecretBackendKey"
PKI_CONFIG_CA = "vault:pkiSecret/secretBackendConfigCa:SecretBackendConfigCa"
PKI_CONFIG_ISSUERS = "vault:pkiSecret/secretBackendConfigIssuers:SecretBackendConfigIssuers"
PKI_CONFIG_URLS = "vault:pkiSecret/secretBackendConfigUrls:SecretBackendConfigUrls"
PKI_CRL_CONFIG = "vault:pkiSecret/secretBackendCrlConfig:SecretBackendCrlConfig"
PKI_AUTO_TIDY = "vault:pkiSecret/backendConfigAutoTidy:BackendConfigAutoTidy"
PKI_CERT = "vault:pkiSecret/secretBackendCert:SecretBackendCert"
PKI_SIGN = "vault:pkiSecret/secretBackendSign:SecretBackendSign"
PKI_KMS_LEVEL1 = "pulumi-python:dynamic/pki:KmsSignedLevel1"
"""The program's dynamic resource that signs a level-1 CSR with the root key in AWS KMS (components/pki/kms_resource.py:
``pulumi.dynamic.Resource`` with ``module="pki", name="KmsSignedLevel1"``)."""

# Vault database secrets engine, and generic endpoints (e.g. the connection's rotate-root)
DB_CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"
GENERIC_ENDPOINT = "vault:generic/endpoint:Endpoint"

# Vault KV
KV_BACKEND_V2 = "vault:kv/secretBackendV2:SecretBackendV2"
KV_SECRET_V2 = "vault:kv/secretV2:SecretV2"
KV_SECRET_V1 = "vault:kv/secret:Secret"

# Kubernetes
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
K8S_SECRET = "kubernetes:core/v1:Secret"
SECRET_PROVIDER_CLASS = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
POD = "kubernetes:core/v1:Pod"
WORKLOADS = (
    POD,
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
)
"""Kubernetes resources that carry a pod spec (a Pod's own, a template's, or a CronJob's job template's)."""
CRD_SERVICE_INTENTIONS = "kubernetes:consul.hashicorp.com/v1alpha1:ServiceIntentions"
CRD_SERVICE_DEFAULTS = "kubernetes:consul.hashicorp.com/v1alpha1:ServiceDefaults"
CRD_PROXY_DEFAULTS = "kubernetes:consul.hashicorp.com/v1alpha1:ProxyDefaults"
CRD_MESH = "kubernetes:consul.hashicorp.com/v1alpha1:Mesh"
CRD_TERMINATING_GATEWAY = "kubernetes:consul.hashicorp.com/v1alpha1:TerminatingGateway"
CRD_JWT_PROVIDER = "kubernetes:consul.hashicorp.com/v1alpha1:JWTProvider"
K8S_SERVICE = "kubernetes:core/v1:Service"
HELM_CHART_V4 = "kubernetes:helm.sh/v4:Chart"
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
"""Gateway API resources are ``kubernetes:gateway.networking.k8s.io/<version>:<Kind>`` (CustomResource tokens are
``kubernetes:<apiVersion>:<kind>``, pulumi_kubernetes/apiextensions/CustomResource.py)."""
CONSUL_CRD_GROUP = "consul.hashicorp.com"

# Consul
CONSUL_INTENTIONS = "consul:index/configEntryServiceIntentions:ConfigEntryServiceIntentions"
CONSUL_SERVICE_DEFAULTS = "consul:index/configEntryServiceDefaults:ConfigEntryServiceDefaults"
CONSUL_CONFIG_ENTRY = "consul:index/configEntry:ConfigEntry"
CONSUL_CA = "consul:index/certificateAuthority:CertificateAuthority"
"""The Connect CA configuration after bootstrap (``PUT /v1/connect/ca/configuration``): ``configJson`` or ``config``."""

# Random
RANDOM_BYTES = "random:index/randomBytes:RandomBytes"
RANDOM_ID = "random:index/randomId:RandomId"

CA_GENERATING = (PKI_ROOT_CERT, PKI_INT_REQUEST, PKI_KEY)
"""Resources that make a CA key pair inside a PKI mount."""

CA_RESOURCES = (PKI_ROOT_CERT, PKI_INT_REQUEST, PKI_SIGN_INTERMEDIATE, PKI_SET_SIGNED, PKI_ISSUER, PKI_KEY)
"""Resources whose loss loses (or re-keys) a CA: what production stacks protect."""


def short(type_token: str) -> str:
    """The readable tail of a type token (``vault:index/policy:Policy`` → ``Policy``)."""
    return type_token.rsplit(":", 1)[-1]
