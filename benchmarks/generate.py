"""Settings for a mesh of N services, derived from the dev stack, for the scale benchmark and its regression test.

Every service gets one onboarded app (own namespace and service account) that calls 1–3 upstreams chosen
by a seeded RNG, so the same N always gives the same mesh. About 10 % of the apps have a PostgreSQL
database at a static host (their root credentials go in the secret object ``databaseRootCredentials``),
about 10 % a public route under the gateway chain's domain; some apps get L7 permissions to one of their
http/grpc upstreams, and some L4 denies to services they do not call (a deny never contradicts an upstream).

:func:`mesh_shape` summarises what was generated, so a test can compute the expected resource count
from the design (per app, per destination, per database, per route) instead of a magic number.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secure_mesh.offline.program_run import deep_merge, load_stack_config

PROJECT_DIR = Path(__file__).resolve().parent.parent
SEED = 20261109
PROTOCOLS = ("http", "grpc", "tcp")
L7_PROTOCOLS = frozenset({"http", "http2", "grpc"})
DATABASE_EVERY = 10
"""Every tenth app (index ≡ 3 mod 10) has a database."""
ROUTE_EVERY = 10
"""Every tenth app (index ≡ 5 mod 10) has a public route; its service is http."""
L7_EVERY = 4
"""Every fourth app gets L7 permissions to its first http/grpc upstream (when it has one)."""
DENY_EVERY = 7
"""Every seventh app is denied (L4) to one service it does not call."""


def service_name(index: int) -> str:
    """The name of the index-th service (also its app, namespace and service account)."""
    return f"svc-{index:05d}"


def protocol_of(index: int) -> str:
    """The protocol of the index-th service: a fixed rotation, http for every routed service."""
    if index % ROUTE_EVERY == 5:
        return "http"
    return PROTOCOLS[index % len(PROTOCOLS)]


@dataclass(frozen=True)
class MeshShape:
    """What a generated mesh holds, in the units the design counts resources in."""

    services: int
    apps: int
    destinations: int
    """Services that are the destination of at least one rule: an upstream, an L7 permission, a deny, or a
    route (the API gateway is a source of every routed app)."""
    databases: int
    routes: int
    l7_intentions: int
    denies: int


def generate_config(services: int, seed: int = SEED) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``secure-mesh:*`` config (keys without the namespace) and the secret config of an N-service mesh."""
    if services < 2:
        raise ValueError("a mesh needs at least 2 services (every app calls another)")
    base = load_stack_config(PROJECT_DIR, "dev")
    domain = base["pki"]["chains"]["gateway"]["domains"][0]
    rng = random.Random(seed)
    names = [service_name(i) for i in range(services)]
    protocols = {name: protocol_of(i) for i, name in enumerate(names)}
    apps: list[dict[str, Any]] = []
    intentions: list[dict[str, Any]] = []
    credentials: dict[str, dict[str, str]] = {}
    for index, name in enumerate(names):
        count = min(services - 1, rng.randint(1, 3))
        upstreams: list[str] = []
        while len(upstreams) < count:
            candidate = names[rng.randrange(services)]
            if candidate != name and candidate not in upstreams:
                upstreams.append(candidate)
        app: dict[str, Any] = {
            "name": name,
            "namespace": name,
            "serviceAccount": name,
            "service": name,
            "upstreams": upstreams,
        }
        if index % 3 == 0:
            app["secrets"] = ["api-key"]
        if index % DATABASE_EVERY == 3:
            database_name = name.replace("-", "_")
            app["database"] = {
                "databaseName": database_name,
                "address": {"host": f"{name}-db.databases.internal", "port": 5432},
                "credentialTtl": "1h",
                "credentialMaxTtl": "24h",
            }
            credentials[name] = {"username": "vault-root", "password": f"bench-root-{index}"}
        if index % ROUTE_EVERY == 5:
            app["route"] = {"hostname": f"{name}.{domain}", "pathPrefix": "/"}
        apps.append(app)
        if index % L7_EVERY == 0:
            l7_target = next((u for u in upstreams if protocols[u] in L7_PROTOCOLS), None)
            if l7_target is not None:
                intentions.append(
                    {
                        "source": name,
                        "destination": l7_target,
                        "permissions": [{"pathPrefix": f"/{name}/", "methods": ["GET", "POST"]}],
                    }
                )
        if index % DENY_EVERY == 0 and services > 1 + len(upstreams):
            while True:
                denied = names[rng.randrange(services)]
                if denied != name and denied not in upstreams:
                    break
            intentions.append({"source": name, "destination": denied, "action": "deny"})
    override = {
        "mesh": {"services": [{"name": n, "protocol": protocols[n]} for n in names], "intentions": intentions},
        "apps": apps,
    }
    config = deep_merge(base, override)
    secrets = {"databaseRootCredentials": json.dumps(credentials)} if credentials else {}
    return config, secrets


def mesh_shape(config: dict[str, Any]) -> MeshShape:
    """Count what a generated config holds (destinations as the intention graph will see them)."""
    apps = config["apps"]
    intentions = config["mesh"]["intentions"]
    destinations = {u for app in apps for u in app["upstreams"]} | {i["destination"] for i in intentions}
    if config["consul"].get("apiGateway", True):
        destinations |= {app["service"] for app in apps if "route" in app}  # the API gateway calls routed apps
    return MeshShape(
        services=len(config["mesh"]["services"]),
        apps=len(apps),
        destinations=len(destinations),
        databases=sum(1 for app in apps if "database" in app),
        routes=sum(1 for app in apps if "route" in app),
        l7_intentions=sum(1 for i in intentions if "permissions" in i),
        denies=sum(1 for i in intentions if i.get("action") == "deny"),
    )


if __name__ == "__main__":
    import sys

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    generated, _ = generate_config(size)
    print(json.dumps({"shape": mesh_shape(generated).__dict__, "config": generated}, indent=2))
