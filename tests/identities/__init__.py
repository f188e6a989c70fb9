"""Tests of the Vault identities: policies as data, Kubernetes-auth roles, and their registration."""
