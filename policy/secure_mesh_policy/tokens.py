"""Vault tokens: no role, auth method or token the stack creates hands out Vault's ``default`` policy.

Vault attaches ``default`` to every token unless the role says ``token_no_default_policy`` (tokens
created directly: ``no_default_policy``). ``default`` grants cubbyhole storage, response wrapping,
``sys/leases/*``, ``sys/capabilities-self`` and more, none of which a workload of this stack uses; each
identity's own policy grants what its agent does with its token (``auth/token/renew-self``,
``lookup-self``). The rule covers every resource of pulumi-vault 7.14 that takes the flag (each token
below was checked against the class's ``super().__init__('<token>', ...)``), so a role added later
through any auth method is caught, not only Kubernetes auth.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .documents import names
from .framework import UNSET, Res, as_bool, resource_rule

TOKEN_NO_DEFAULT_POLICY_TYPES = (
    "vault:kubernetes/authBackendRole:AuthBackendRole",
    "vault:jwt/authBackendRole:AuthBackendRole",
    "vault:appRole/authBackendRole:AuthBackendRole",
    "vault:tokenauth/authBackendRole:AuthBackendRole",
    "vault:aws/authBackendRole:AuthBackendRole",
    "vault:azure/authBackendRole:AuthBackendRole",
    "vault:gcp/authBackendRole:AuthBackendRole",
    "vault:alicloud/authBackendRole:AuthBackendRole",
    "vault:cf/authBackendRole:AuthBackendRole",
    "vault:saml/authBackendRole:AuthBackendRole",
    "vault:spiffe/authBackendRole:AuthBackendRole",
    "vault:index/certAuthBackendRole:CertAuthBackendRole",
    "vault:index/ociAuthBackendRole:OciAuthBackendRole",
    "vault:index/scepAuthBackendRole:ScepAuthBackendRole",
    "vault:index/tpmAuthBackendRole:TpmAuthBackendRole",
    "vault:index/userpassAuthBackendUser:UserpassAuthBackendUser",
    "vault:index/kerberosAuthBackendLdapConfig:KerberosAuthBackendLdapConfig",
    "vault:github/authBackend:AuthBackend",
    "vault:ldap/authBackend:AuthBackend",
    "vault:okta/authBackend:AuthBackend",
    "vault:radius/authBackend:AuthBackend",
)
"""Auth roles and auth methods whose logins get tokens: the property is ``tokenNoDefaultPolicy``."""
NO_DEFAULT_POLICY_TYPES = (
    "vault:index/token:Token",
    "vault:index/oauthResourceServerConfigProfile:OauthResourceServerConfigProfile",
)
"""Tokens created directly, and the OAuth resource-server profile's tokens: the property is ``noDefaultPolicy``."""


@resource_rule(
    "VLT-NO-DEFAULT-POLICY",
    checks="Every Vault auth role, auth method and token the stack creates sets token_no_default_policy "
    "(no_default_policy for tokens) and never lists 'default' among its policies.",
    why="Vault tokens docs: the default policy is attached to every token unless disabled, and grants cubbyhole, "
    "response wrapping, sys/leases and more than any workload here needs; issue 13 item 8.",
    fix="Set token_no_default_policy=True (no_default_policy=True on vault.Token) and grant what the client does "
    "with its own token (auth/token/renew-self, lookup-self) in its own policy.",
    types=TOKEN_NO_DEFAULT_POLICY_TYPES + NO_DEFAULT_POLICY_TYPES,
)
def vlt_no_default_policy(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Tokens carry only the policies the role names."""
    flag = "noDefaultPolicy" if res.type in NO_DEFAULT_POLICY_TYPES else "tokenNoDefaultPolicy"
    if not as_bool(res.get(flag), False):
        yield res.finding(
            flag,
            res.get(flag, UNSET),
            "every token it issues also gets Vault's default policy",
            f"set {flag} = true",
        )
    for prop in ("tokenPolicies", "policies"):
        if "default" in names(res.get(prop)):
            yield res.finding(prop, names(res.get(prop)), "lists the default policy explicitly", "remove 'default'")
