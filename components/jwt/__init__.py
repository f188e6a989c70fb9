"""JWT-authorized intentions, Vault's side: Vault identity tokens as the mesh's JWT issuer (issue 17 item 5)."""
