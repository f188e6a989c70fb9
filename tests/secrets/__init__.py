"""Tests of Consul's KV-v2 secrets: formats, the mount, generated values and their durability."""
