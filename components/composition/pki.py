"""Settings and layout → :class:`~secure_mesh.pki.component.CertificateAuthorityArgs`.

The pure plan (:func:`secure_mesh.pki.plan.build_plan`) decides every security-relevant value from settings and
the layout (the single author of names); this module only copies it into the component's plain Args, adds the
root custody's inputs, and words what an operator does while an offline root has not signed level 1 yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi

from ..layout import Layout
from ..pki.component import (
    AwsKmsRootArgs,
    CaChainArgs,
    CaLevelArgs,
    CaMountArgs,
    CertificateAuthorityArgs,
    NameConstraintsArgs,
    PkiRoleArgs,
    RootArgs,
    VaultRootArgs,
)
from ..pki.expiry_check import CaExpiryCheckArgs
from ..pki.plan import LevelPlan, MountPlan, RoleSpec, RootPlan, build_plan
from ..settings import ChainName, RootCustody, Settings, duration_seconds
from ..settings.images import Image, image_reference
from ..settings.models import MAX_PRODUCTION_LEVEL1_TTL


def pki_args(
    settings: Settings, layout: Layout, deployed: pulumi.Input[Mapping[str, int]] | None = None
) -> CertificateAuthorityArgs:
    """The stack's certificate authority: every chain of the plan, the root's custody, protect in production, and
    the server chain's issuing generation (``rotation.serverTlsGeneration``) checked against ``deployed`` (this
    stack's previous ``rotationVersions``).
    """
    plan = build_plan(settings, layout)
    generations = {
        ChainName.SERVER: settings.rotation.server_tls_generation,
        ChainName.CONNECT: settings.rotation.connect_root_generation,
    }
    roles: dict[ChainName, list[RoleSpec]] = {}
    for role in plan.roles:
        roles.setdefault(role.chain, []).append(role)
    return CertificateAuthorityArgs(
        organization=settings.pki.organization,
        key_type=settings.pki.key_type,
        key_bits=settings.pki.key_bits,
        root=_root_args(settings, plan.root),
        chains=tuple(
            _chain_args(chain, levels, roles.get(chain, []), generations.get(chain, 1), plan.superseded.get(chain))
            for chain, levels in plan.chains.items()
        ),
        connect_intermediate_pki_path=layout.connect_intermediate_pki_path,
        connect_intermediate_ttl_seconds=duration_seconds(settings.pki.consul_intermediate_ttl),
        protect=settings.is_production,
        deployed=deployed,
    )


def _root_args(settings: Settings, root: RootPlan | None) -> RootArgs:
    pki = settings.pki
    custody = pki.root_custody
    offline = custody is not RootCustody.VAULT
    kms = pki.aws_kms if custody is RootCustody.AWS_KMS else None
    external = pki.external if custody is RootCustody.EXTERNAL else None
    return RootArgs(
        custody=custody,
        in_vault=(
            VaultRootArgs(
                mount=_mount_args(root.mount),
                common_name=root.common_name,
                ttl_seconds=root.ttl_seconds,
                max_path_length=root.max_path_length,
                issuer_name=root.issuer_name,
            )
            if root is not None  # the layout has a root mount exactly with custody 'vault'
            else None
        ),
        certificate_pem=(
            kms.root_certificate_pem if kms is not None else external.root_certificate_pem if external else None
        ),
        signed_intermediates=(
            {chain.value: pem for chain, pem in external.signed_intermediates.items()} if external else {}
        ),
        aws_kms=AwsKmsRootArgs(key_id=kms.key_id, region=kms.region) if kms is not None else None,
        crl_urls=tuple(pki.root_crl_urls) if offline else (),
        issuer_urls=tuple(pki.root_issuer_urls) if offline else (),
        # An offline-signed level 1 may live at most two years in production (settings refuse a longer TTL too).
        level1_max_ttl_seconds=duration_seconds(MAX_PRODUCTION_LEVEL1_TTL) if settings.is_production else None,
        certificate_pem_source=f"pki.{'awsKms' if kms is not None else 'external'}.rootCertificatePem",
        signed_intermediates_source="pki.external.signedIntermediates",
    )


def _mount_args(mount: MountPlan) -> CaMountArgs:
    hygiene = mount.hygiene
    return CaMountArgs(
        path=mount.path,
        description=mount.description,
        max_lease_ttl_seconds=mount.max_lease_ttl_seconds,
        default_lease_ttl_seconds=mount.default_lease_ttl_seconds,
        issuing_certificates=hygiene.issuing_certificates,
        crl_distribution_points=hygiene.crl_distribution_points,
        crl_expiry=hygiene.crl_expiry,
        crl_auto_rebuild=hygiene.crl_auto_rebuild,
        crl_auto_rebuild_grace_period=hygiene.crl_auto_rebuild_grace_period,
        crl_enable_delta=hygiene.crl_enable_delta,
        crl_delta_rebuild_interval=hygiene.crl_delta_rebuild_interval,
        tidy_interval=hygiene.tidy_interval,
        tidy_safety_buffer=hygiene.tidy_safety_buffer,
    )


def _level_args(level: LevelPlan) -> CaLevelArgs:
    return CaLevelArgs(
        mount=_mount_args(level.mount),
        common_name=level.common_name,
        ttl_seconds=level.ttl_seconds,
        max_path_length=level.max_path_length,
        issuer_name=level.issuer_name,
    )


def _chain_args(
    chain: ChainName,
    levels: Sequence[LevelPlan],
    roles: Sequence[RoleSpec],
    generation: int,
    superseded: LevelPlan | None,
) -> CaChainArgs:
    """A chain's Args: its levels and constraints (and the connect root's previous generation while a later one is
    declared); its first role is the chain's own, the rest a federation primary's roles for its secondaries'
    servers (:func:`secure_mesh.pki.plan.server_roles`).
    """
    constraints = levels[0].constraints  # every level of a chain carries the chain's constraints
    return CaChainArgs(
        name=chain,
        levels=tuple(_level_args(level) for level in levels),
        superseded_issuing_level=_level_args(superseded) if superseded is not None else None,
        name_constraints=NameConstraintsArgs(
            permitted_dns_domains=constraints.permitted_dns_domains,
            permitted_uri_domains=constraints.permitted_uri_domains,
            permitted_ip_ranges=constraints.permitted_ip_ranges,
            excluded_ip_ranges=constraints.excluded_ip_ranges,
        ),
        role=_role_args(roles[0]) if roles else None,
        secondary_roles=tuple(_role_args(role) for role in roles[1:]),
        issuing_generation=generation,
    )


def _role_args(role: RoleSpec) -> PkiRoleArgs:
    return PkiRoleArgs(
        name=role.name,
        allowed_domains=role.allowed_domains,
        allow_subdomains=role.allow_subdomains,
        allow_bare_domains=role.allow_bare_domains,
        ttl_seconds=int(role.ttl),
        max_ttl_seconds=int(role.max_ttl),
        client_flag=role.client_flag,
        server_flag=role.server_flag,
        allow_localhost=role.allow_localhost,
        allow_wildcard_certificates=role.allow_wildcard_certificates,
        allow_ip_sans=role.allow_ip_sans,
        allow_glob_domains=role.allow_glob_domains,
        allow_any_name=role.allow_any_name,
        enforce_hostnames=role.enforce_hostnames,
        code_signing_flag=role.code_signing_flag,
        email_protection_flag=role.email_protection_flag,
        generate_lease=role.generate_lease,
        no_store=role.no_store,
        require_cn=role.require_cn,
        basic_constraints_valid_for_non_ca=role.basic_constraints_valid_for_non_ca,
        use_csr_common_name=role.use_csr_common_name,
        use_csr_sans=role.use_csr_sans,
        key_usages=role.key_usages,
        ext_key_usages=role.ext_key_usages,
    )


def expiry_check_args(settings: Settings, layout: Layout) -> CaExpiryCheckArgs | None:
    """The scheduled CA expiry check (``pki.expiryCheck``), or None when it is disabled.

    It reads every Vault-held CA of the layout (the root's mount only with custody ``vault``: an offline or KMS
    root's expiry is in ``pkiNotAfter.root``) and Consul's active Connect root and intermediates.
    """
    check = settings.pki.expiry_check
    if not check.enabled:
        return None
    root = [layout.root_mount.path] if layout.root_mount is not None else []
    return CaExpiryCheckArgs(
        name=f"{layout.consul_fullname}-ca-expiry-check",
        namespace=layout.consul_namespace,
        schedule=check.schedule,
        threshold_days=check.threshold_days,
        vault_address=settings.vault.address,
        vault_ca_mounts=(*root, *(mount.path for chain in layout.local_chains for mount in layout.chain_mounts(chain))),
        consul_https_address=f"{layout.consul_server_service}.{layout.consul_namespace}.svc:8501",
        consul_ca_mount=layout.issuing_mount(ChainName.SERVER).path,
        image=image_reference(settings, Image.CONSUL),
        vault_namespace=settings.vault.namespace,
        vault_ca_secret=(
            (layout.vault_ca_secret_name, layout.vault_ca_secret_key)
            if settings.vault.tls.ca_cert_pem is not None
            else None
        ),
    )


def external_next_steps(pending: Sequence[ChainName], csr_output: str = "pkiLevel1Csrs") -> str:
    """What an operator does between the two phases of the ``external`` custody."""
    chains = ", ".join(chain.value for chain in pending)
    return (
        f"PKI: the offline root has not signed level 1 of chain(s) {chains} yet, so nothing that depends on "
        "those chains (deeper levels, roles, Consul) was created. Next: (1) read the CSRs with "
        f"`pulumi stack output {csr_output} --show-secrets` (they are public); (2) sign each with the offline "
        "root as a CA certificate (basic constraints CA:TRUE critical, keyCertSign, the chain's path length, its "
        "name constraints (DNS, URI, IP) as critical, and the root's CRL distribution point and AIA caIssuers URLs "
        "from pki.rootCrlUrls/rootIssuerUrls); (3) put the certificates in "
        "secure-mesh:pki.external.signedIntermediates (keyed by chain) and the root in "
        "pki.external.rootCertificatePem; (4) run `pulumi up` again."
    )
