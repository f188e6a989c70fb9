"""A team's own program: a private CA in Vault for its services' TLS, and nothing else of secure-mesh.

Only :class:`secure_mesh.CertificateAuthority` is used, with Args written here by hand (no secure-mesh stack
config, settings or layout) and this program's own Vault provider: a Vault-held root alone in its mount and one
``server`` chain of two intermediates whose deepest CA holds the only role. The server chain's CA bundle is
exported for clients to trust.
"""

from __future__ import annotations

import pulumi
import pulumi_vault as vault

from secure_mesh import CertificateAuthority, CertificateAuthorityArgs
from secure_mesh.pki.component import (
    CaChainArgs,
    CaLevelArgs,
    CaMountArgs,
    NameConstraintsArgs,
    PkiRoleArgs,
    RootArgs,
    VaultRootArgs,
)
from secure_mesh.vocabulary import ChainName, KeyType, RootCustody

config = pulumi.Config()
vault_address = config.require("vaultAddress")
domain = config.require("domain")

HOUR = 3600
DAY = 24 * HOUR
YEAR = 365 * DAY


def mount(path: str, description: str, ttl_seconds: int) -> CaMountArgs:
    """A CA's own mount; what it issues points clients at its certificate and CRL in this Vault."""
    return CaMountArgs(
        path=path,
        description=description,
        max_lease_ttl_seconds=ttl_seconds,
        default_lease_ttl_seconds=HOUR,
        issuing_certificates=(f"{vault_address}/v1/{path}/ca",),
        crl_distribution_points=(f"{vault_address}/v1/{path}/crl",),
    )


args = CertificateAuthorityArgs(
    organization="Example Team",
    key_type=KeyType.EC,
    key_bits=256,
    root=RootArgs(
        custody=RootCustody.VAULT,
        in_vault=VaultRootArgs(
            mount=mount("team-pki/root", "Example Team root CA", 10 * YEAR),
            common_name="Example Team root CA",
            ttl_seconds=10 * YEAR,
            max_path_length=2,  # level 1 allows one CA below it, so the root allows two
        ),
    ),
    chains=(
        CaChainArgs(
            name=ChainName.SERVER,
            levels=(
                CaLevelArgs(
                    mount=mount("team-pki/server/int1", "server chain, level 1", 2 * YEAR),
                    common_name="Example Team server CA level 1",
                    ttl_seconds=2 * YEAR,
                    max_path_length=1,
                    issuer_name="server-level1",
                ),
                CaLevelArgs(
                    mount=mount("team-pki/server/int2", "server chain, level 2", YEAR),
                    common_name="Example Team server CA level 2",
                    ttl_seconds=YEAR,
                    max_path_length=0,
                    issuer_name="server-level2",
                ),
            ),
            # No CA of the chain can sign anything outside the team's domain, nor any IP address.
            name_constraints=NameConstraintsArgs(
                permitted_dns_domains=(domain,), excluded_ip_ranges=("0.0.0.0/0", "::/0")
            ),
            role=PkiRoleArgs(
                name="web",
                allowed_domains=(domain,),
                allow_subdomains=True,
                allow_bare_domains=False,
                ttl_seconds=DAY,
                max_ttl_seconds=3 * DAY,
            ),
        ),
    ),
    protect=True,
)

provider = vault.Provider("vault", address=vault_address, skip_tls_verify=False)
ca = CertificateAuthority("team-ca", args, pulumi.ResourceOptions(providers=[provider]))

pulumi.export("serverCaChainPem", ca.ca_chains.apply(lambda chains: chains["server"]))
pulumi.export("issuePaths", ca.issue_paths)
