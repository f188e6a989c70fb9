"""The program with JWT-authorized intentions, under mocks: what Vault and Kubernetes receive, whole, in order.

Upstream behaviour relied on (each read in its source, not recalled):
* Consul refuses an intentions write naming a JWT provider that does not exist ("Referenced JWT Provider does not
  exist", agent/consul/state/config_entry.go ``validateJWTProvidersExist``): each ServiceIntentions waits for the
  JWTProvider resources its permissions name;
* Vault refuses an OIDC role whose ``ttl`` exceeds its key's ``verification_ttl``, checked only when the key exists
  (vault/identity_store_oidc.go ``pathOIDCCreateUpdateRole``): each role takes the key's name from the key;
* a key signs only for the client ids it allows ("If empty no roles are allowed"): the key allows exactly the
  audience every role uses as its ``client_id``;
* the Kubernetes auth method records ``service_account_name``/``service_account_namespace`` as the entity alias's
  metadata (vault-plugin-auth-kubernetes ``path_login.go``), which the role template names by the mount's accessor.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from secure_mesh.offline.program_run import ProgramRun, RegisteredResource
from tests.jwt.variants import jwt_run

KEY = "consul-dc1-jwt-vault"
ACCESSOR = "auth_kubernetes_" + hashlib.sha256(b"secure-mesh-identities-kubernetes-auth").hexdigest()[:8]
"""The dev stack's Kubernetes auth mount's accessor as the mocks compute it (tests/mocks/identities.py)."""
TEMPLATE = (
    '{"k8s_namespace": {{identity.entity.aliases.' + ACCESSOR + '.metadata.service_account_namespace}}, '
    '"k8s_service_account": {{identity.entity.aliases.' + ACCESSOR + ".metadata.service_account_name}}}"
)


def _named(run: ProgramRun, name: str) -> RegisteredResource:
    return next(r for r in run.resources if r.name == name)


def _deps(run: ProgramRun, resource: RegisteredResource) -> set[str]:
    return {run.by_urn(urn).name for urn in resource.dependencies}


def test_one_key_and_a_role_per_calling_app_whole() -> None:
    run = jwt_run()
    oidc = {r.name: (r.type, r.inputs) for r in run.resources if r.type.startswith("vault:identity/oidc")}
    assert oidc == {
        "secure-mesh-jwt-vault-key": (
            "vault:identity/oidcKey:OidcKey",
            {
                "name": KEY,
                "algorithm": "RS256",
                "rotationPeriod": 86400,
                "verificationTtl": 86400,
                "allowedClientIds": [KEY],
            },
        ),
        **{
            f"secure-mesh-jwt-vault-{app}-role": (
                "vault:identity/oidcRole:OidcRole",
                {"name": f"{KEY}-{app}", "key": KEY, "template": TEMPLATE, "ttl": 1200, "clientId": KEY},
            )
            for app in ("web", "api")  # api calls payments, web calls api; the corp provider is not Vault's
        },
    }


def test_each_role_waits_for_the_key_and_the_auth_mount_it_names() -> None:
    run = jwt_run()
    for app in ("web", "api"):
        role = _named(run, f"secure-mesh-jwt-vault-{app}-role")
        assert _deps(run, role) == {"secure-mesh-jwt-vault-key", "secure-mesh-identities-kubernetes-auth"}
        assert {run.by_urn(u).name for u in role.property_dependencies["key"]} == {"secure-mesh-jwt-vault-key"}


def test_each_intentions_entry_waits_for_the_providers_it_names_and_only_those() -> None:
    run = jwt_run()
    providers = {"corp", "vault"}
    named = {
        entry: {name.removeprefix("secure-mesh-intentions-").removesuffix("-jwt-provider")
                for name in _deps(run, _named(run, f"secure-mesh-intentions-{entry}-intentions"))
                if name.endswith("-jwt-provider")}
        for entry in ("payments", "api", "ledger", "web")
    }
    assert named == {"payments": providers, "api": {"vault"}, "ledger": set(), "web": set()}
    # Proxies fetch the Vault key set once the providers exist; the key that fills it is written before them.
    for provider in providers:
        assert "secure-mesh-jwt-vault-key" in _deps(run, _named(run, f"secure-mesh-intentions-{provider}-jwt-provider"))


def test_each_app_may_read_exactly_its_own_token_and_its_agent_renders_it() -> None:
    run = jwt_run()
    policies = {
        r.name: json.loads(r.inputs["policy"])["path"]
        for r in run.of_type("vault:index/policy:Policy")
        if r.name.startswith("secure-mesh-onboarding-app-")
    }
    token_grants = {
        name: sorted(path for path in paths if path.startswith("identity/")) for name, paths in policies.items()
    }
    assert token_grants == {
        "secure-mesh-onboarding-app-web-policy": [f"identity/oidc/token/{KEY}-web"],
        "secure-mesh-onboarding-app-api-policy": [f"identity/oidc/token/{KEY}-api"],
    }
    assert policies["secure-mesh-onboarding-app-api-policy"][f"identity/oidc/token/{KEY}-api"] == {
        "capabilities": ["read"]
    }
    annotations: dict[str, dict[str, str]] = run.outputs["appVaultAnnotations"]
    jwt_annotations = {
        app: {key: value for key, value in values.items() if "jwt-" in key} for app, values in annotations.items()
    }
    assert jwt_annotations == {
        app: {
            "vault.hashicorp.com/agent-inject-secret-jwt-vault": f"identity/oidc/token/{KEY}-{app}",
            "vault.hashicorp.com/agent-inject-template-jwt-vault": (
                f'{{{{- with secret "identity/oidc/token/{KEY}-{app}" -}}}}{{{{ .Data.token }}}}{{{{- end }}}}'
            ),
        }
        for app in ("web", "api")
    }


def test_the_stack_exports_each_provider_and_each_app_s_token_path() -> None:
    outputs: dict[str, Any] = jwt_run().outputs
    vault = "https://vault.vault.svc.cluster.local:8200/v1/identity/oidc"
    assert outputs["jwtProviders"] == {
        "vault": {"issuer": vault, "jwksUri": f"{vault}/.well-known/keys", "audiences": [KEY]},
        "corp": {
            "issuer": "https://login.example.com/",
            "jwksUri": "https://login.example.com/.well-known/jwks.json",
            "audiences": ["mesh-dc1"],
        },
    }
    assert outputs["appJwtTokenPaths"] == {
        "web": {"vault": f"identity/oidc/token/{KEY}-web"},
        "api": {"vault": f"identity/oidc/token/{KEY}-api"},
    }


def test_the_jwt_variant_passes_every_mandatory_rule_of_the_pack() -> None:
    # The pack's JWT rules (int-jwt-*, vlt-oidc-*) and every other rule, over what the program registers.
    from tests.policy.support import from_run, mandatory, run_rules

    violations, unknowns = run_rules(from_run(jwt_run().resources))
    assert not mandatory(violations), "\n".join(map(str, mandatory(violations)))
    assert not unknowns
