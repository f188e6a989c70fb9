"""Multi-cluster topology: cluster peering (the token, the peering, exported services, the mesh gateway address)."""
