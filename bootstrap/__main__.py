"""secure-mesh bootstrap: the pipelines' trust in production Vault and AWS (run once by an administrator)."""

from secure_mesh_bootstrap.program import main

main()
