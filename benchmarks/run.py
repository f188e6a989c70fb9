"""The scale benchmark: the whole program under mocks, and the offline render, for meshes of 10 to 2,000 services.

``python -m benchmarks.run`` (``make bench``) generates each mesh with :mod:`benchmarks.generate`, then runs
every measurement in a FRESH Python process, so import time and peak memory belong to one run:

* **program**: a child process imports the program and the mock engine and runs ``secure_mesh.program.main``
  under :mod:`secure_mesh.offline.program_run` (as the test suite does). ``seconds`` is wall time from the
  moment the parent starts the child process (interpreter start-up included) to the last resource
  registration the mock engine receives; ``peak_rss_mb`` is the child's ``ru_maxrss``.
* **render**: another child runs :func:`secure_mesh.offline.render.render_stack` into a temporary directory
  (the same config, its secret object given as an encrypted stack value); wall time from process start
  to the render's return, and the child's peak RSS.
* **import**: a child that only imports ``secure_mesh.program`` and the provider SDK submodules the program
  uses (the start-up every ``pulumi preview`` pays before registering anything); the median of three.
* **overhead** (issue 15): the program at 2,000 services against a bare-SDK *floor*, a Pulumi program that
  registers as many trivial resources (:func:`floor_program`). Both children are the same process: same
  interpreter, same imports (the program, the provider SDK modules, the mock engine and its canned outputs),
  same GC tuning, same :class:`secure_mesh.offline.program_run.RecordingMonitor` and mocks; only the function
  handed to Pulumi's ``run_pulumi_func`` differs. The measured window is that run: from calling the program
  (reading and validating settings included) until the engine has received every registration and the stack's
  outputs, in CPU seconds (robust on a shared machine) and wall seconds. Program and floor alternate
  so each pair shares the machine's load; the ratio is the median of the pairs' ratios (:func:`overhead_ratio`).
  A third side, the **graph** replay (:func:`graph_program`), registers exactly what the program registered
  (the plan the program side writes after its window, :func:`registration_plan`: types, names, inputs with
  their secrets, parents, providers, dependencies and options) through the raw ``pulumi.CustomResource``,
  ``ComponentResource`` and ``ProviderResource`` classes: the cost of the resource graph itself, without the
  typed provider classes, Outputs and program logic. The three run as interleaved triples whose order
  rotates; ``graph_ratio`` is graph vs floor and ``program_vs_graph`` program vs graph, each the median of
  the triples' ratios.

It prints a table, writes ``benchmarks/results.json`` (rows plus the machine) and plots time and resources
against services to ``benchmarks/scale.png`` (skipped with a message when matplotlib is not installed:
``pip install -r requirements-bench.txt``). It is not part of the test suite; the fast regression check is
``tests/benchmarks``.
"""

from __future__ import annotations

import time

_CHILD_START = time.perf_counter()  # first statement of a child process: everything after is measured

import argparse  # noqa: E402 - after the start mark on purpose
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = PROJECT_DIR / "benchmarks"
SIZES = (10, 100, 500, 2000)
BENCH_STACK = "bench"
TARGET_SECONDS_2000 = 20.0
TARGET_RSS_MB = 1024.0
TARGET_LINEARITY = 1.5
OVERHEAD_SERVICES = 2000
"""The mesh size the program-vs-floor ratio is measured at (issue 15)."""
TARGET_OVERHEAD_RATIO = 1.3
"""Issue 15: the program may take at most 1.3x the time of a bare-SDK floor registering as many resources."""
FLOOR_TYPE = "secure-mesh-bench:index:Trivial"
"""The floor's one resource type (the mocks answer any type token; no provider plugin is involved)."""
SDK_MODULES = (
    "pulumi",
    "pulumi_vault",
    "pulumi_vault.pkisecret",
    "pulumi_vault.kubernetes",
    "pulumi_vault.kv",
    "pulumi_vault.database",
    "pulumi_kubernetes",
    "pulumi_kubernetes.core.v1",
    "pulumi_kubernetes.apps.v1",
    "pulumi_kubernetes.helm.v3",
    "pulumi_kubernetes.apiextensions",
    "pulumi_random",
)
"""The provider SDK modules a preview of the checked-in stacks loads (pulumi_vault's submodules are lazy)."""


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# ------------------------------------------------------------------------------------------ children


def _child_import() -> dict[str, Any]:
    import importlib

    importlib.import_module("secure_mesh.program")
    program_done = time.perf_counter()
    for module in SDK_MODULES:
        importlib.import_module(module)
    return {
        "import_seconds": time.perf_counter() - _CHILD_START,
        "import_program_seconds": program_done - _CHILD_START,
        "consul_sdk_loaded": "pulumi_consul" in sys.modules,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _child_program(config_file: Path) -> dict[str, Any]:
    from secure_mesh.offline import program_run as engine
    from secure_mesh.program import main, tune_garbage_collection
    from tests.harness import _collect_mock_outputs

    tune_garbage_collection()  # as __main__.py does before main()

    imported = time.perf_counter()
    document = json.loads(config_file.read_text())
    last = [0.0]

    class TimedMonitor(engine.RecordingMonitor):
        """The recording monitor, noting when the last registration arrived."""

        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
            response = super().RegisterResource(request)
            last[0] = time.time()
            return response

    engine.RecordingMonitor = TimedMonitor  # type: ignore[misc]
    started = time.perf_counter()
    run = engine.run_program(
        main, PROJECT_DIR, document["config"], document["secrets"], BENCH_STACK, False, _collect_mock_outputs()
    )
    finished = time.perf_counter()
    return {
        "resources": len(run.resources),
        "last_registration_epoch": last[0],
        "in_process_seconds": finished - _CHILD_START,
        "imports_seconds": imported - _CHILD_START,
        "run_seconds": finished - started,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _child_render(config_file: Path) -> dict[str, Any]:
    from secure_mesh.offline.render import render_stack

    document = json.loads(config_file.read_text())
    config = dict(document["config"])
    for key in document["secrets"]:
        config[key] = {"secure": "v1:benchmark-encrypted-value"}  # as a stack file holds it
    with tempfile.TemporaryDirectory() as out:
        result = render_stack(PROJECT_DIR, BENCH_STACK, Path(out), config_override=config)
        files = len(result.files)
    return {
        "render_end_epoch": time.time(),
        "render_files": files,
        "render_resources": sum(result.resource_counts.values()),
        "peak_rss_mb": _peak_rss_mb(),
    }


def floor_program(count: int) -> Callable[[], None]:
    """A bare Pulumi program registering ``count`` trivial resources: the SDK's own cost per registration.

    Trivial means what every resource pays and nothing a program chooses to add: a custom resource of one
    type, shaped like a provider SDK class (its own ``__init__`` over :class:`pulumi.CustomResource`, so the
    SDK captures the same source-position stack it captures for ``vault.Policy`` or ``kubernetes...Secret``),
    one small string input, the stack as parent, the default provider, no dependencies, no options. Everything
    the program adds on top (components and parents, explicit providers, ``depends_on``, documents as inputs,
    typed output properties, Outputs passed between resources, stack outputs) counts as the program's.
    """
    import pulumi

    class Trivial(pulumi.CustomResource):
        """One trivial resource, constructed the way generated provider classes construct theirs."""

        def __init__(self, name: str, value: str) -> None:
            super().__init__(FLOOR_TYPE, name, {"value": value})

    def program() -> None:
        for index in range(count):
            Trivial(f"floor-{index}", f"value-{index}")

    return program


def _replay_value(value: Any) -> Any:
    """A plan's input value as an input again: Pulumi's secret envelope becomes ``pulumi.Output.secret``."""
    import pulumi
    from pulumi.runtime import rpc

    from secure_mesh.offline.program_run import _unwrap

    if rpc.is_rpc_secret(value):
        return pulumi.Output.secret(_unwrap(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, dict):
        return {key: _replay_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_replay_value(item) for item in value]
    return value


STACK_REFERENCE = "pulumi:pulumi:StackReference"


def registration_plan(recorded: Sequence[Any], reads: Sequence[tuple[str, str, str]] = ()) -> list[dict[str, Any]]:
    """What a run registered, as JSON-able data :func:`graph_program` can register again.

    ``reads`` are the run's ReadResource requests (type, name, id); its ``StackReference`` reads come first in the
    plan (``{"read": true, "name", "id"}``), since a registration may depend on one (the program's own
    ``rotationVersions`` check).

    ``recorded`` is a :class:`~secure_mesh.offline.program_run.RecordingMonitor`'s list, in the engine's order
    (a parent, provider or dependency always arrives before the resources that name it: their requests carry its
    URN). Each entry keeps what the request carried: type, name, URN, parent, provider reference, whether it is a
    custom resource, the inputs as the engine decodes them (a value the program sent as a secret, at any depth,
    stays in Pulumi's secret envelope ``{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
    "value": …}``), the dependencies (the SDK has already expanded components into their
    custom resources), ``additional_secret_outputs``, ``protect``, ``retain_on_delete`` and ``ignore_changes``.
    """
    from pulumi.runtime import rpc

    stack_reads = [{"read": True, "name": name, "id": id_} for type_, name, id_ in reads if type_ == STACK_REFERENCE]
    return stack_reads + [
        {
            "type": resource.type,
            "name": resource.name,
            "urn": resource.urn,
            "parent": resource.parent,
            "provider": resource.provider,
            "custom": resource.custom,
            "inputs": dict(rpc.deserialize_properties(resource.wire_inputs)),
            "dependencies": list(resource.dependencies),
            "additional_secret_outputs": list(resource.additional_secret_outputs),
            "protect": resource.protect,
            "retain_on_delete": resource.retain_on_delete,
            "ignore_changes": list(resource.ignore_changes),
        }
        for resource in recorded
    ]


def graph_program(plan: Sequence[dict[str, Any]]) -> Callable[[], None]:
    """A Pulumi program registering a :func:`registration_plan` again, raw: the cost of the graph itself.

    Every resource is registered in the plan's order through ``pulumi.ProviderResource`` (``pulumi:providers:*``
    types), ``pulumi.CustomResource`` or ``pulumi.ComponentResource`` with its recorded type, name and inputs
    (secrets as ``pulumi.Output.secret``), the same parent, provider, dependencies (as ``depends_on``),
    ``additional_secret_outputs``, ``protect``, ``retain_on_delete`` and ``ignore_changes``. No typed provider
    classes, no Outputs between resources, no settings or program logic: what is left is what the SDK does for
    this graph. Components register no outputs (the program's ``register_outputs`` is the program's cost).
    """
    import pulumi

    def program() -> None:
        by_urn: dict[str, pulumi.Resource] = {}

        def resource_at(urn: str, role: str, of: str) -> pulumi.Resource:
            try:
                return by_urn[urn]
            except KeyError:
                raise RuntimeError(f"{of}: its {role} {urn} is not registered before it in the plan") from None

        for entry in plan:
            if entry.get("read"):  # a StackReference, keyed by the URN the registrations name it with
                own = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::pulumi:pulumi:Stack$"
                by_urn[f"{own}{STACK_REFERENCE}::{entry['name']}"] = pulumi.StackReference(
                    entry["name"], stack_name=entry["id"]
                )
                continue
            urn = entry["urn"]
            parent_urn = entry["parent"]
            stack_parent = not parent_urn or parent_urn.split("::")[2:3] == ["pulumi:pulumi:Stack"]
            # a provider reference is `<provider URN>::<provider id>`, and URNs contain `::` themselves
            provider = resource_at(entry["provider"].rsplit("::", 1)[0], "provider", urn) if entry["provider"] else None
            if provider is not None and not isinstance(provider, pulumi.ProviderResource):
                raise RuntimeError(f"{urn}: its provider {entry['provider']} is not a provider")
            options = pulumi.ResourceOptions(
                parent=None if stack_parent else resource_at(parent_urn, "parent", urn),
                provider=provider,
                depends_on=[resource_at(dependency, "dependency", urn) for dependency in entry["dependencies"]] or None,
                additional_secret_outputs=entry["additional_secret_outputs"] or None,
                protect=entry["protect"] or None,
                retain_on_delete=entry["retain_on_delete"] or None,
                ignore_changes=entry["ignore_changes"] or None,
            )
            inputs = {key: _replay_value(value) for key, value in entry["inputs"].items()}
            type_token: str = entry["type"]
            resource: pulumi.Resource
            if type_token.startswith("pulumi:providers:"):
                resource = pulumi.ProviderResource(
                    type_token.removeprefix("pulumi:providers:"), entry["name"], inputs, options
                )
            elif entry["custom"]:
                resource = pulumi.CustomResource(type_token, entry["name"], inputs, options)
            else:
                resource = pulumi.ComponentResource(type_token, entry["name"], inputs, options)
            by_urn[urn] = resource

    return program


def write_plan(recorded: Sequence[Any], path: Path, reads: Sequence[tuple[str, str, str]] = ()) -> None:
    """Write a run's :func:`registration_plan` to a JSON file (the program side does, after its window)."""
    path.write_text(json.dumps(registration_plan(recorded, reads)))


def read_plan(path: Path) -> list[dict[str, Any]]:
    """A plan :func:`write_plan` wrote."""
    plan: list[dict[str, Any]] = json.loads(path.read_text())
    return plan


def _child_run(which: str, config_file: Path, count: int, plan_file: Path) -> dict[str, Any]:
    """One side of the overhead triple: ``program`` (the whole program), ``floor`` (``count`` trivial resources)
    or ``graph`` (the program's registrations replayed raw from ``plan_file``).

    Everything before the measured window is identical for all sides: the imports, the GC tuning, the mock
    engine with the program's config and canned outputs; the graph side also reads its plan there. The window
    is Pulumi's run of the function. After it, the program side writes what it registered to ``plan_file``.
    """
    import importlib

    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from secure_mesh.offline import program_run as engine
    from secure_mesh.program import main, tune_garbage_collection
    from tests.harness import _collect_mock_outputs

    for module in SDK_MODULES:  # the program loads these lazily; every side starts with them loaded
        importlib.import_module(module)
    tune_garbage_collection()  # as __main__.py does before main()
    document = json.loads(config_file.read_text())
    program: Callable[[], object]
    plan: list[dict[str, Any]] = []
    if which == "program":
        program = main
    elif which == "floor":
        program = floor_program(count)
    elif which == "graph":
        plan = read_plan(plan_file)
        program = graph_program(plan)
    else:
        raise ValueError(f"unknown side {which!r}: program, floor or graph")
    monitor = engine._start(
        PROJECT_DIR, document["config"], document["secrets"], BENCH_STACK, False, _collect_mock_outputs()
    )
    cpu_started, started = time.process_time(), time.perf_counter()
    _sync_await(run_pulumi_func(lambda: engine._discard(program())))
    cpu_seconds, seconds = time.process_time() - cpu_started, time.perf_counter() - started
    if which == "floor" and len(monitor.recorded) != count:
        raise RuntimeError(f"the floor registered {len(monitor.recorded)} resources, not {count}")
    registrations = [entry for entry in plan if not entry.get("read")] if which == "graph" else []
    if which == "graph" and len(monitor.recorded) != len(registrations):
        raise RuntimeError(
            f"the graph registered {len(monitor.recorded)} resources, not the plan's {len(registrations)}"
        )
    if which == "program":
        write_plan(monitor.recorded, plan_file, monitor.reads)  # after the window: not measured
    return {
        "which": which,
        "resources": len(monitor.recorded),
        "cpu_seconds": cpu_seconds,
        "seconds": seconds,
        "setup_seconds": started - _CHILD_START,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _child_main(argv: list[str]) -> None:
    kind = argv[0]
    if kind == "import":
        result = _child_import()
    elif kind == "program":
        result = _child_program(Path(argv[1]))
    elif kind == "run":
        result = _child_run(argv[1], Path(argv[2]), int(argv[3]), Path(argv[4]))
    elif kind == "render":
        result = _child_render(Path(argv[1]))
    else:
        raise SystemExit(f"unknown child kind {kind!r}")
    print("RESULT " + json.dumps(result))


# -------------------------------------------------------------------------------------------- parent


def _spawn(*args: str) -> tuple[float, dict[str, Any]]:
    """Run one child measurement; return the parent's wall clock at launch and the child's result."""
    # The project first; an existing PYTHONPATH (e.g. a worktree's alias of secure_mesh) stays behind it.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_DIR), os.environ.get("PYTHONPATH")]))}
    launched = time.time()
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--child", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark child {args} failed:\n{completed.stderr[-4000:]}")
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    return launched, json.loads(line[len("RESULT ") :])


def measure_import(repeats: int = 3) -> dict[str, Any]:
    """Median start-up (interpreter + imports) of a fresh process, and the part that is the program's imports."""
    samples = []
    for _ in range(repeats):
        launched, result = _spawn("import")
        result["process_seconds"] = time.time() - launched  # includes interpreter start and exit
        samples.append(result)
    return {
        "import_seconds": statistics.median(s["import_seconds"] for s in samples),
        "import_program_seconds": statistics.median(s["import_program_seconds"] for s in samples),
        "import_process_seconds": statistics.median(s["process_seconds"] for s in samples),
        "import_peak_rss_mb": statistics.median(s["peak_rss_mb"] for s in samples),
        "consul_sdk_loaded": any(s["consul_sdk_loaded"] for s in samples),
    }


def overhead_ratio(program: Sequence[float], floor: Sequence[float]) -> dict[str, Any]:
    """Program vs floor from interleaved pairs: each pair's ratio, their median (the ratio), and the medians.

    ``program[i]`` and ``floor[i]`` must have been measured back to back (one pair shares the machine's load),
    so the median of the pairs' ratios cancels load that the ratio of two medians would not.
    """
    if not program or len(program) != len(floor):
        raise ValueError(f"need as many program as floor samples, at least one: {len(program)} vs {len(floor)}")
    if min(*program, *floor) <= 0:
        raise ValueError("every sample must be a positive duration")
    pairs = [p / f for p, f in zip(program, floor, strict=True)]
    return {
        "program_seconds": round(statistics.median(program), 3),
        "floor_seconds": round(statistics.median(floor), 3),
        "ratio": round(statistics.median(pairs), 3),
        "pair_ratios": [round(pair, 3) for pair in pairs],
    }


OVERHEAD_SIDES = ("program", "floor", "graph")
"""The three sides of an overhead triple, in the first triple's order (the floor needs the program's count and
the graph its plan); later triples rotate it."""


def triple_order(index: int) -> tuple[str, ...]:
    """The order of the ``index``-th triple: the sides rotated by one per triple, so none always runs first."""
    shift = index % len(OVERHEAD_SIDES)
    return OVERHEAD_SIDES[shift:] + OVERHEAD_SIDES[:shift]


def measure_overhead(services: int = OVERHEAD_SERVICES, repeats: int = 3) -> dict[str, Any]:
    """The program at ``services`` against the floor and the graph replay, ``repeats`` interleaved triples."""
    from benchmarks.generate import generate_config

    measured_on = machine()  # before the triples: its load average is the one the run started under
    config, secrets = generate_config(services)
    with tempfile.TemporaryDirectory() as work:
        config_file, plan_file = Path(work) / "config.json", Path(work) / "plan.json"
        config_file.write_text(json.dumps({"config": config, "secrets": secrets}))
        samples: dict[str, list[dict[str, Any]]] = {side: [] for side in OVERHEAD_SIDES}
        resources = 0
        for index in range(repeats):
            for which in triple_order(index):
                _, result = _spawn("run", which, str(config_file), str(resources), str(plan_file))
                if which == "program":
                    resources = result["resources"]
                samples[which].append(result)
    programs, floors, graphs = (samples[side] for side in OVERHEAD_SIDES)

    def seconds(side: list[dict[str, Any]], key: str) -> list[float]:
        return [sample[key] for sample in side]

    cpu = overhead_ratio(seconds(programs, "cpu_seconds"), seconds(floors, "cpu_seconds"))
    graph = overhead_ratio(seconds(graphs, "cpu_seconds"), seconds(floors, "cpu_seconds"))
    beyond = overhead_ratio(seconds(programs, "cpu_seconds"), seconds(graphs, "cpu_seconds"))
    wall = overhead_ratio(seconds(programs, "seconds"), seconds(floors, "seconds"))
    wall_graph = overhead_ratio(seconds(graphs, "seconds"), seconds(floors, "seconds"))
    return {
        "services": services,
        "resources": resources,
        "floor_resources": floors[0]["resources"],
        "graph_resources": graphs[0]["resources"],
        "floor_type": FLOOR_TYPE,
        "repeats": repeats,
        "orders": [list(triple_order(index)) for index in range(repeats)],
        "ratio": cpu["ratio"],
        "program_seconds": cpu["program_seconds"],
        "floor_seconds": cpu["floor_seconds"],
        "pair_ratios": cpu["pair_ratios"],
        "graph_seconds": graph["program_seconds"],
        "graph_ratio": graph["ratio"],
        "graph_pair_ratios": graph["pair_ratios"],
        "program_vs_graph": beyond["ratio"],
        "program_vs_graph_pair_ratios": beyond["pair_ratios"],
        "wall": {**wall, "graph_seconds": wall_graph["program_seconds"], "graph_ratio": wall_graph["ratio"]},
        "setup_seconds": round(statistics.median(p["setup_seconds"] for p in programs), 3),
        "target_ratio": TARGET_OVERHEAD_RATIO,
        "within_target": cpu["ratio"] <= TARGET_OVERHEAD_RATIO,
        "measured_on": measured_on,
        "measured_as": "CPU seconds of Pulumi's run of the function (settings, registrations, stack outputs), "
        "median of the per-triple ratios of interleaved program/floor/graph triples (order rotated per triple); "
        "graph: the program's registrations replayed raw; wall: the same window in wall-clock seconds",
    }


def _median_run(kind: str, config_file: Path, repeats: int, seconds_of: str) -> tuple[float, dict[str, Any]]:
    """Run one child measurement ``repeats`` times; return the median wall time and that run's result."""
    samples = []
    for _ in range(repeats):
        launched, result = _spawn(kind, str(config_file))
        samples.append((result[seconds_of] - launched, result))
    samples.sort(key=lambda sample: sample[0])
    return samples[len(samples) // 2]


def measure(services: int, import_seconds: float, repeats: int = 1) -> dict[str, Any]:
    """One row of the results: the program and the render for an N-service mesh, each in fresh processes.

    With ``repeats`` > 1 each is run that many times and the median kept: a shared 2-core machine varies by
    a quarter from run to run.
    """
    from benchmarks.generate import generate_config, mesh_shape

    config, secrets = generate_config(services)
    shape = mesh_shape(config)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"config": config, "secrets": secrets}, handle)
        config_file = Path(handle.name)
    try:
        seconds, program = _median_run("program", config_file, repeats, "last_registration_epoch")
        render_seconds, render = _median_run("render", config_file, repeats, "render_end_epoch")
    finally:
        config_file.unlink()
    resources = program["resources"]
    return {
        "services": services,
        "resources": resources,
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(program["peak_rss_mb"], 1),
        "resources_per_service": round(resources / services, 3),
        "seconds_per_service": round(seconds / services, 5),
        "ms_per_resource": round(1000 * seconds / resources, 3),
        "program_run_seconds": round(program["run_seconds"], 3),
        "program_imports_seconds": round(program["imports_seconds"], 3),
        "render_seconds": round(render_seconds, 3),
        "repeats": repeats,
        "render_peak_rss_mb": round(render["peak_rss_mb"], 1),
        "render_files": render["render_files"],
        "import_seconds": round(import_seconds, 3),
        "shape": shape.__dict__,
    }


def machine() -> dict[str, Any]:
    """Where the numbers were measured."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average_1m_at_start": round(load, 2),
    }


def targets(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's targets, checked against the rows (linearity: per-service time at 2,000 vs at 100)."""
    by_size = {row["services"]: row for row in rows}
    checks: dict[str, Any] = {}
    if 100 in by_size and 2000 in by_size:
        ratio = by_size[2000]["seconds_per_service"] / by_size[100]["seconds_per_service"]
        checks["linearity_ratio_2000_vs_100"] = round(ratio, 3)
        checks["linear"] = ratio <= TARGET_LINEARITY
    if 2000 in by_size:
        checks["under_20s_at_2000"] = by_size[2000]["seconds"] < TARGET_SECONDS_2000
        checks["under_1gib_at_2000"] = by_size[2000]["peak_rss_mb"] < TARGET_RSS_MB
    return checks


def table(rows: list[dict[str, Any]], startup: dict[str, Any]) -> str:
    """The results as a Markdown table (printed, and pasted into docs/scale.md)."""
    lines = [
        "| services | resources | res/service | program s | s/service | ms/resource | peak RSS MiB "
        "| render s | render RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['services']} | {row['resources']} | {row['resources_per_service']:.2f} | {row['seconds']:.2f} "
            f"| {row['seconds_per_service'] * 1000:.1f} ms | {row['ms_per_resource']:.2f} | {row['peak_rss_mb']:.0f} "
            f"| {row['render_seconds']:.2f} | {row['render_peak_rss_mb']:.0f} |"
        )
    lines.append("")
    lines.append(
        f"Start-up (fresh process, median of 3): {startup['import_seconds']:.2f} s to import the program and its SDK "
        f"modules ({startup['import_program_seconds']:.2f} s for `secure_mesh.program` alone), "
        f"{startup['import_process_seconds']:.2f} s for the whole process including interpreter start and exit."
    )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> str:
    """Program and render time, and resources, against services (log-log); a message when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return f"matplotlib is not installed: skipped {path.name} (pip install -r requirements-bench.txt)"
    services = [row["services"] for row in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(services, [row["seconds"] for row in rows], "o-", label="program (process start → last registration)")
    left.plot(services, [row["render_seconds"] for row in rows], "s--", label="offline render")
    left.axhline(TARGET_SECONDS_2000, color="grey", linestyle=":", label="target at 2,000 services")
    left.set(xscale="log", yscale="log", xlabel="services", ylabel="seconds", title="Wall time")
    left.legend(fontsize=8)
    right.plot(services, [row["resources"] for row in rows], "o-", color="tab:green", label="resources")
    right.set(xscale="log", yscale="log", xlabel="services", ylabel="resources registered", title="Resources")
    twin = right.twinx()
    twin.plot(services, [row["peak_rss_mb"] for row in rows], "^:", color="tab:red", label="peak RSS (MiB)")
    twin.set(yscale="log", ylabel="peak RSS MiB")
    right.legend(loc="upper left", fontsize=8)
    twin.legend(loc="lower right", fontsize=8)
    for axis in (left, right):
        axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return f"wrote {path.relative_to(PROJECT_DIR)}"


def describe_overhead(overhead: dict[str, Any]) -> str:
    """The program-vs-floor line ``make bench`` prints, with the graph replay between them."""
    verdict = "within" if overhead["within_target"] else "ABOVE"
    wall = overhead["wall"]
    return (
        f"program vs bare-SDK floor at {overhead['services']} services ({overhead['resources']} resources each): "
        f"{overhead['program_seconds']:.2f} s vs {overhead['floor_seconds']:.2f} s CPU, ratio {overhead['ratio']:.2f} "
        f"({verdict} the {overhead['target_ratio']} target; triples {overhead['pair_ratios']}); graph replay "
        f"{overhead['graph_seconds']:.2f} s, {overhead['graph_ratio']:.2f}x the floor "
        f"(triples {overhead['graph_pair_ratios']}), program {overhead['program_vs_graph']:.2f}x the graph; wall "
        f"{wall['program_seconds']:.2f} s vs {wall['floor_seconds']:.2f} s, ratio {wall['ratio']:.2f} "
        f"(graph {wall['graph_seconds']:.2f} s, {wall['graph_ratio']:.2f})"
    )


def main(argv: list[str] | None = None) -> int:
    """Run every size, print the table, write results.json and the plot."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="mesh sizes (services)")
    parser.add_argument("--out", default=str(BENCH_DIR / "results.json"))
    parser.add_argument("--plot", default=str(BENCH_DIR / "scale.png"))
    parser.add_argument("--repeats", type=int, default=3, help="runs per size; the median is kept (default 3)")
    parser.add_argument(
        "--overhead-only",
        action="store_true",
        help="only the program/floor/graph triples (rewrites the overhead section of results.json, keeps the rows)",
    )
    parser.add_argument(
        "--overhead-services", type=int, default=OVERHEAD_SERVICES, help="mesh size of the overhead triples"
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child_main(args.child)
        return 0
    info = machine()
    if args.overhead_only:  # refresh only the overhead section of the results (the rows stay as they were)
        overhead = measure_overhead(args.overhead_services, args.repeats)
        out = Path(args.out)
        results = json.loads(out.read_text()) if out.is_file() else {}
        out.write_text(json.dumps({**results, "overhead": overhead}, indent=2) + "\n")
        print(describe_overhead(overhead))
        return 0
    startup = measure_import()
    overhead = measure_overhead(args.overhead_services, args.repeats)
    print(describe_overhead(overhead), flush=True)
    rows = []
    for size in args.sizes:
        row = measure(size, startup["import_seconds"], args.repeats)
        rows.append(row)
        print(
            f"{size:5d} services: {row['resources']} resources in {row['seconds']:.2f} s "
            f"({row['peak_rss_mb']:.0f} MiB); render {row['render_seconds']:.2f} s",
            flush=True,
        )
    checks = targets(rows)
    Path(args.out).write_text(
        json.dumps(
            {"machine": info, "startup": startup, "overhead": overhead, "targets": checks, "rows": rows}, indent=2
        )
        + "\n"
    )
    print()
    print(table(rows, startup))
    print()
    print(f"machine: {info['nproc']} x {info['cpu_model']}, Python {info['python']}, {info['date']}")
    print(describe_overhead(overhead))
    print(f"targets: {json.dumps(checks)}")
    print(plot(rows, Path(args.plot)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
