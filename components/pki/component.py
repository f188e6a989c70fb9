"""The certificate authority: root custody and the four per-purpose chains of Vault-held intermediates.

Everything security-relevant comes from :mod:`secure_mesh.pki.plan` as plain values; this module only
turns the plan into Vault resources in the right order:

* each CA gets its own ``pki`` mount with URLs, CRL config and auto-tidy configured before issuing;
* level 1 is signed by the root (in Vault, offline through the operator, or through AWS KMS), deeper
  levels by the level above inside Vault (CSR → sign-intermediate on the parent → set-signed);
* each signed CA becomes a named issuer with ``leaf_not_after_behavior`` ``err`` and the mount's
  explicit default issuer;
* roles sit only on the deepest mount of the server, gateway and webhook chains (never on a root or
  the mesh chain, whose deepest CA Consul signs with).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_vault as vault

from ..layout import Layout
from ..settings import ChainName, RootCustody, Settings, duration_seconds
from ..settings.models import MAX_PRODUCTION_LEVEL1_TTL
from .certificates import (
    CertificateCheckError,
    Level1Requirements,
    check_root,
    check_signed_level1,
    load_certificate,
    verify_signed_level1,
)
from .kms_resource import KmsSignedLevel1, KmsSignedLevel1Args
from .plan import (
    LEAF_NOT_AFTER_BEHAVIOR,
    LevelPlan,
    MountPlan,
    PkiPlan,
    RootPlan,
    build_plan,
    required_root_path_length,
)

TYPE = "secure-mesh:pki:CertificateAuthority"


@dataclass(frozen=True)
class CertificateAuthorityArgs:
    """Inputs of :class:`CertificateAuthority`."""

    settings: Settings
    layout: Layout


BACKDATE_SLACK_SECONDS = 24 * 3600
"""How much longer than planned an offline-signed level 1 may be valid (operators often backdate notBefore)."""


def level1_requirements(level: LevelPlan, settings: Settings) -> Level1Requirements:
    """What a chain's level-1 certificate must be, for the offline and KMS checks.

    Besides the plan's name, path length, name constraints and key type: the offline root's CRL and AIA
    URLs (``pki.rootCrlUrls``/``pki.rootIssuerUrls``) and a validity of at most the planned TTL (and in
    production at most two years), both with a day of slack for a backdated notBefore.
    """
    longest = level.ttl_seconds
    if settings.is_production:
        longest = min(longest, duration_seconds(MAX_PRODUCTION_LEVEL1_TTL))
    return Level1Requirements(
        chain=level.chain.value,
        common_name=level.common_name,
        max_path_length=level.max_path_length,
        permitted_dns_domains=level.permitted_dns_domains,
        key_type=level.key_type,
        key_bits=level.key_bits,
        constraints=level.constraints,
        crl_distribution_points=tuple(settings.pki.root_crl_urls),
        issuing_certificates=tuple(settings.pki.root_issuer_urls),
        max_ttl_seconds=longest + BACKDATE_SLACK_SECONDS,
    )


def _bundle(certificate: str, parent_chain: str) -> str:
    """A CA certificate followed by its issuers' chain, one PEM block per line group."""
    return f"{certificate.strip()}\n{parent_chain.strip()}\n"


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


class CertificateAuthority(pulumi.ComponentResource):
    """Root custody and the per-purpose chains of Vault-held intermediates."""

    ready: list[pulumi.Resource]
    """Resources anything that issues or reads certificates must wait for."""
    complete: bool
    """False while an external root has not yet signed level 1 (nothing dependent is created)."""
    plan: PkiPlan
    """The plain-data plan the resources were built from."""
    root_mount_path: str | None
    """The Vault-held root's mount (custody ``vault`` only)."""
    mount_paths: dict[ChainName, tuple[str, ...]]
    """Every chain's mount paths, level 1 first."""
    issue_paths: dict[ChainName, str]
    """Issue endpoints of the server, gateway and webhook roles."""
    ca_paths: dict[ChainName, str]
    """CA read endpoints of every chain's deepest mount."""
    connect_root_pki_path: str
    """Consul's ``connectCA.rootPKIPath``: the mesh chain's deepest Vault-held CA."""
    connect_intermediate_pki_path: str
    """Consul's ``connectCA.intermediatePKIPath``: computed only; Consul creates and owns it."""
    ca_chain_pems: dict[ChainName, pulumi.Output[str]]
    """Per complete chain, the deepest CA's chain up to and including the root (for clients to trust)."""
    level1_csrs: dict[ChainName, pulumi.Output[str]]
    """Level-1 CSRs (custody ``external``), for the operator to sign offline."""
    pending_chains: tuple[ChainName, ...]
    """Chains whose level 1 still waits for the offline root's signature."""

    def __init__(self, name: str, args: CertificateAuthorityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings, layout = args.settings, args.layout
        self._name = name
        self._settings = settings
        self._protect = settings.is_production
        self.plan = build_plan(settings, layout)
        self.ready = []
        self._issuing_ready: dict[ChainName, list[pulumi.Resource]] = {}
        self.level1_csrs = {}
        self.ca_chain_pems = {}
        self.mount_paths = {chain: tuple(m.path for m in layout.chain_mounts(chain)) for chain in ChainName}
        self.root_mount_path = layout.root_mount.path if layout.root_mount is not None else None
        self.issue_paths = {
            ChainName.SERVER: layout.server_pki_issue_path,
            ChainName.GATEWAY: layout.gateway_pki_issue_path,
            ChainName.WEBHOOK: layout.webhook_pki_issue_path,
        }
        self.ca_paths = {chain: layout.issuing_mount(chain).ca_path for chain in ChainName}
        self.connect_root_pki_path = layout.connect_root_pki_path
        self.connect_intermediate_pki_path = layout.connect_intermediate_pki_path

        root_pem, root_ready = self._root()
        pending: list[ChainName] = []
        for chain in ChainName:
            chain_pem = self._chain(chain, root_pem, root_ready)
            if chain_pem is None:
                pending.append(chain)
            else:
                self.ca_chain_pems[chain] = chain_pem
        for role in self.plan.roles:
            if role.chain in pending:
                continue  # nothing that depends on an unsigned chain is created
            self.ready.append(
                vault.pkisecret.SecretBackendRole(
                    f"{name}-{role.chain.value}-role",
                    **role.resource_args(),
                    opts=self._opts(self._issuing_ready[role.chain]),
                )
            )
        self.pending_chains = tuple(pending)
        self.complete = not pending
        if pending:
            pulumi.log.warn(external_next_steps(pending), resource=self)

        self.register_outputs(
            {
                "complete": self.complete,
                "rootMountPath": self.root_mount_path,
                "mountPaths": {c.value: list(p) for c, p in self.mount_paths.items()},
                "issuePaths": {c.value: p for c, p in self.issue_paths.items()},
                "caPaths": {c.value: p for c, p in self.ca_paths.items()},
                "connectRootPkiPath": self.connect_root_pki_path,
                "connectIntermediatePkiPath": self.connect_intermediate_pki_path,
                "caChainPems": {c.value: p for c, p in self.ca_chain_pems.items()},
                "level1Csrs": {c.value: p for c, p in self.level1_csrs.items()},
            }
        )

    # ------------------------------------------------------------------------------ options
    def _opts(self, depends_on: Sequence[pulumi.Resource] = (), keep: bool = False) -> pulumi.ResourceOptions:
        """Child options: parent (so providers flow down), ordering, and protect for what must not be lost."""
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on), protect=keep and self._protect)

    # ------------------------------------------------------------------------------- mounts
    def _mount(self, prefix: str, plan: MountPlan) -> tuple[vault.Mount, list[pulumi.Resource]]:
        """A CA's mount with URLs, CRL config and auto-tidy, all configured before anything is issued."""
        mount = vault.Mount(
            f"{prefix}-mount",
            path=plan.path,
            type="pki",
            description=plan.description,
            default_lease_ttl_seconds=plan.default_lease_ttl_seconds,
            max_lease_ttl_seconds=plan.max_lease_ttl_seconds,
            opts=self._opts(keep=True),
        )
        hygiene = plan.hygiene
        urls = vault.pkisecret.SecretBackendConfigUrls(
            f"{prefix}-urls",
            backend=plan.path,
            issuing_certificates=list(hygiene.issuing_certificates),
            crl_distribution_points=list(hygiene.crl_distribution_points),
            opts=self._opts([mount]),
        )
        crl = vault.pkisecret.SecretBackendCrlConfig(
            f"{prefix}-crl",
            backend=plan.path,
            disable=False,
            auto_rebuild=hygiene.crl_auto_rebuild,
            auto_rebuild_grace_period=hygiene.crl_auto_rebuild_grace_period,
            enable_delta=hygiene.crl_enable_delta,
            delta_rebuild_interval=hygiene.crl_delta_rebuild_interval,
            expiry=hygiene.crl_expiry,
            opts=self._opts([mount]),
        )
        tidy = vault.pkisecret.BackendConfigAutoTidy(
            f"{prefix}-tidy",
            backend=plan.path,
            enabled=True,
            tidy_cert_store=True,
            tidy_revoked_certs=True,
            tidy_revoked_cert_issuer_associations=True,
            tidy_expired_issuers=True,
            interval_duration=hygiene.tidy_interval,
            safety_buffer=hygiene.tidy_safety_buffer,
            opts=self._opts([mount]),
        )
        return mount, [urls, crl, tidy]

    def _issuer(
        self, prefix: str, path: str, issuer_ref: pulumi.Input[str], issuer_name: str, after: Sequence[pulumi.Resource]
    ) -> list[pulumi.Resource]:
        """Name the mount's CA issuer, make it refuse leaves past its expiry, and make it the explicit default."""
        issuer = vault.pkisecret.SecretBackendIssuer(
            f"{prefix}-issuer",
            backend=path,
            issuer_ref=issuer_ref,
            issuer_name=issuer_name,
            leaf_not_after_behavior=LEAF_NOT_AFTER_BEHAVIOR,
            opts=self._opts(after, keep=True),
        )
        default = vault.pkisecret.SecretBackendConfigIssuers(
            f"{prefix}-default-issuer",
            backend=path,
            default=issuer.issuer_id,
            default_follows_latest_issuer=False,
            opts=self._opts([issuer], keep=True),
        )
        return [issuer, default]

    # --------------------------------------------------------------------------------- root
    def _root(self) -> tuple[pulumi.Output[str] | None, list[pulumi.Resource]]:
        """The root certificate (PEM) and what must exist before the root signs anything in Vault."""
        settings = self._settings
        pki = settings.pki
        required = required_root_path_length(settings)
        if self.plan.root is not None:
            return self._vault_root(self.plan.root)
        if pki.root_custody is RootCustody.AWS_KMS and pki.aws_kms is not None and pki.aws_kms.root_certificate_pem:
            self._check_root(pki.aws_kms.root_certificate_pem, "pki.awsKms.rootCertificatePem", required)
            return pulumi.Output.from_input(pki.aws_kms.root_certificate_pem), []
        external = pki.external
        if external is not None and external.root_certificate_pem is not None:
            self._check_root(external.root_certificate_pem, "pki.external.rootCertificatePem", required)
            return pulumi.Output.from_input(external.root_certificate_pem), []
        return None, []

    def _check_root(self, pem: str, what: str, required: int) -> None:
        pki = self._settings.pki
        try:
            check_root(pem, pki.key_type.value, pki.key_bits, required, what)
        except CertificateCheckError as error:
            raise pulumi.RunError(str(error)) from None

    def _vault_root(self, plan: RootPlan) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
        prefix = f"{self._name}-root"
        mount, hygiene = self._mount(prefix, plan.mount)
        root = vault.pkisecret.SecretBackendRootCert(
            f"{prefix}-ca",
            backend=plan.mount.path,
            type="internal",
            common_name=plan.common_name,
            organization=plan.organization,
            ttl=str(plan.ttl_seconds),
            key_type=plan.key_type,
            key_bits=plan.key_bits,
            max_path_length=plan.max_path_length,
            exclude_cn_from_sans=True,
            issuer_name=plan.issuer_name,
            opts=self._opts([mount, *hygiene], keep=True),
        )
        issuer = self._issuer(prefix, plan.mount.path, root.issuer_id, plan.issuer_name, [root])
        self.ready.extend(hygiene + issuer)
        return root.certificate, [root, *hygiene, *issuer]

    # ------------------------------------------------------------------------------- chains
    def _chain(
        self, chain: ChainName, root_pem: pulumi.Output[str] | None, root_ready: list[pulumi.Resource]
    ) -> pulumi.Output[str] | None:
        """Build one chain; return its CA chain PEM, or None while level 1 waits for the offline root."""
        levels = self.plan.chains[chain]
        parent_chain = root_pem
        parent_ready = root_ready
        for level in levels:
            prefix = f"{self._name}-{chain.value}-l{level.level}"
            mount, hygiene = self._mount(prefix, level.mount)
            self.ready.extend(hygiene)
            csr = vault.pkisecret.SecretBackendIntermediateCertRequest(
                f"{prefix}-csr",
                backend=level.path,
                type="internal",
                common_name=level.common_name,
                organization=level.organization,
                key_type=level.key_type,
                key_bits=level.key_bits,
                key_name=level.issuer_name,
                add_basic_constraints=True,
                exclude_cn_from_sans=True,
                opts=self._opts([mount], keep=True),
            )
            signed = self._sign(prefix, level, csr, parent_chain, parent_ready)
            if signed is None:
                self.level1_csrs[chain] = csr.csr
                return None
            certificate, sign_resources = signed
            assert parent_chain is not None  # a signed level always has its issuers' chain
            bundle = pulumi.Output.all(certificate, parent_chain).apply(lambda pems: _bundle(pems[0], pems[1]))
            set_signed = vault.pkisecret.SecretBackendIntermediateSetSigned(
                f"{prefix}-set-signed",
                backend=level.path,
                certificate=bundle,
                opts=self._opts([csr, *sign_resources], keep=True),
            )
            # The bundle lists this level's certificate first, so it is the first issuer Vault imports.
            issuer_ref = set_signed.imported_issuers.apply(lambda ids: ids[0])
            issuer = self._issuer(prefix, level.path, issuer_ref, level.issuer_name, [set_signed])
            self.ready.extend(issuer)
            parent_chain = bundle
            parent_ready = [*hygiene, *issuer]
        self._issuing_ready[chain] = parent_ready
        return parent_chain

    def _sign(
        self,
        prefix: str,
        level: LevelPlan,
        csr: vault.pkisecret.SecretBackendIntermediateCertRequest,
        parent_chain: pulumi.Output[str] | None,
        parent_ready: list[pulumi.Resource],
    ) -> tuple[pulumi.Output[str], list[pulumi.Resource]] | None:
        """Have the level's CSR signed by its parent: in Vault, through KMS, or by the operator (external)."""
        if level.signer_path is not None:
            signed = vault.pkisecret.SecretBackendRootSignIntermediate(
                f"{prefix}-signed",
                backend=level.signer_path,
                csr=csr.csr,
                common_name=level.common_name,
                organization=level.organization,
                ttl=str(level.ttl_seconds),
                max_path_length=level.max_path_length,
                # Name constraints. URI and IP need Vault 1.19+: the provider silently omits them for an older
                # server (terraform-provider-vault pki_secret_backend_root_sign_intermediate, VAULT-32141).
                # All are ForceNew: changing them re-signs the level.
                permitted_dns_domains=list(level.constraints.permitted_dns_domains),
                permitted_uri_domains=list(level.constraints.permitted_uri_domains),
                permitted_ip_ranges=list(level.constraints.permitted_ip_ranges),
                excluded_ip_ranges=list(level.constraints.excluded_ip_ranges),
                exclude_cn_from_sans=True,
                use_csr_values=False,
                revoke=False,
                opts=self._opts([csr, *parent_ready], keep=True),
            )
            return signed.certificate, [signed]
        pki = self._settings.pki
        requirements = level1_requirements(level, self._settings)
        if pki.root_custody is RootCustody.AWS_KMS:
            assert pki.aws_kms is not None and pki.aws_kms.root_certificate_pem is not None  # settings guarantee it
            kms_signed = KmsSignedLevel1(
                f"{prefix}-kms-signed",
                KmsSignedLevel1Args(
                    key_id=pki.aws_kms.key_id,
                    region=pki.aws_kms.region,
                    root_certificate_pem=pki.aws_kms.root_certificate_pem,
                    csr=csr.csr,
                    requirements=requirements,
                    ttl_seconds=level.ttl_seconds,
                    mount=level.path,
                ),
                self._opts([csr], keep=True),
            )
            return kms_signed.certificate, [kms_signed]
        # External custody: phase one stops here; phase two imports what the operator signed.
        external = pki.external
        if external is None or level.chain not in external.signed_intermediates or parent_chain is None:
            return None
        certificate = external.signed_intermediates[level.chain]
        root_pem = external.root_certificate_pem or ""
        try:
            load_certificate(certificate, f"pki.external.signedIntermediates.{level.chain.value}")
            # Everything but the CSR match is decidable from config now: fail before the level is imported.
            check_signed_level1(
                certificate, root_pem, requirements, f"pki.external.signedIntermediates.{level.chain.value}"
            )
        except CertificateCheckError as error:
            raise pulumi.RunError(str(error)) from None

        def verified(csr_pem: str) -> str:
            # Runs at deploy time, once Vault's CSR is known; fails the update if the operator signed another CSR.
            try:
                verify_signed_level1(certificate, csr_pem, root_pem, requirements)
            except CertificateCheckError as error:
                raise pulumi.RunError(str(error)) from None
            return certificate

        return csr.csr.apply(verified), []
