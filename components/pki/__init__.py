"""Vault PKI: root custody (vault, external, aws-kms) and the per-purpose intermediate chains."""
