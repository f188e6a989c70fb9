"""secure-mesh: Consul on Kubernetes with Vault as its CA and secrets store, for one stack."""

from components.program import main

main()
