"""The secure-mesh component package: serves every public component of ``secure_mesh`` to other languages.

Pulumi runs this file when a TypeScript, Go, Python or YAML program uses the package (``pulumi package add``
with this folder's path). The host infers the schema from the components' annotations; the same schema is
committed as ``provider/schema.json`` (``python -m secure_mesh package-schema > provider/schema.json``).
"""

from pulumi.provider.experimental import component_provider_host

from secure_mesh import __version__
from secure_mesh.component_package import PACKAGE_NAME, hosted_components

if __name__ == "__main__":
    component_provider_host(components=hosted_components(), name=PACKAGE_NAME, version=__version__)
