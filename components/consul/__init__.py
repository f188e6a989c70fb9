"""Consul on Kubernetes: the pinned chart's values, the Helm release, and the Vault agent injector."""
