"""secure-mesh: Consul on Kubernetes with Vault as its certificate authority and secrets store.

The package is layered so that data flows one way:

* ``settings``   – the stack's configuration, validated once into frozen typed models;
* ``layout``     – every shared Vault path, role, policy and Kubernetes name, computed once;
* documents      – Vault policies, Helm values and intentions as plain Python data
  (``identities.policies``, ``consul.helm_values``, ``mesh.graph``, ``pki.plan``);
* components     – Pulumi ``ComponentResource`` classes that turn those documents into resources;
* entry points   – ``__main__.py`` (Pulumi), ``policy/`` (CrossGuard) and ``python -m secure_mesh``.
"""
