"""secure-mesh bootstrap: the one-time trust between the pipelines and production (Vault JWT roles, AWS roles)."""
