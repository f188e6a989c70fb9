"""Vault identities for Consul's components: the Kubernetes auth method, roles and least-privilege policies."""
