"""secure-mesh: Consul on Kubernetes with Vault as its CA and secrets store, for one stack."""

from secure_mesh.program import main, tune_garbage_collection

tune_garbage_collection()
main()
