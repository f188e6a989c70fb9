"""The mesh's intentions: one typed graph, rendered as Consul config entries or consul-k8s CRDs."""
