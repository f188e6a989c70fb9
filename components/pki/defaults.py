"""The PKI's fixed, secure defaults: what every CA mount, issuer and role is unless told otherwise.

Plain constants with no dependency, shared by the settings-driven plan (:mod:`secure_mesh.pki.plan`) and the
component's Args (:mod:`secure_mesh.pki.component`, which may not import the settings models; issue 15).
"""

from __future__ import annotations

DEFAULT_LEASE_TTL_SECONDS = 3600
"""Every PKI mount's default lease TTL; roles and signing calls always pass explicit TTLs."""

CRL_EXPIRY = "72h"
"""How long a CRL stays valid (Vault ``config/crl`` ``expiry``)."""
CRL_AUTO_REBUILD_GRACE_PERIOD = "12h"
"""How long before a CRL expires Vault rebuilds it (``auto_rebuild_grace_period``)."""
CRL_DELTA_REBUILD_INTERVAL = "15m"
"""How often Vault rebuilds the delta CRL (``delta_rebuild_interval``)."""
TIDY_INTERVAL = "24h"
"""Auto-tidy interval (the health check wants at most two days)."""
TIDY_SAFETY_BUFFER = "72h"
"""How long past expiry a certificate is kept before tidy removes it."""
ROLE_KEY_USAGES: tuple[str, ...] = ("DigitalSignature", "KeyAgreement", "KeyEncipherment")
"""A TLS leaf's key usages, written out: Vault's own default for roles (never CertSign or CRLSign)."""
LEAF_NOT_AFTER_BEHAVIOR = "err"
"""Intermediates refuse to issue past their own expiry instead of silently issuing short certificates."""
