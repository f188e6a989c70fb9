"""Day-2 operations: Vault's Consul secrets engine and rotations declared as versions (issue 17)."""
