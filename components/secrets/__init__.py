"""Consul's secrets in Vault KV-v2: gossip key, ACL tokens, enterprise license, snapshot agent config."""
