"""The program-vs-floor overhead measurement of ``make bench`` (issue 15: program ≤ 1.3x a bare-SDK floor).

The 2,000-service triples themselves run only in ``make bench``; here: the ratio arithmetic, the floor program
(what "trivial resource" means), that the graph replay registers exactly the graph the program registered, and
that the committed results carry the measurement.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from benchmarks.generate import generate_config
from benchmarks.run import (
    BENCH_DIR,
    BENCH_STACK,
    FLOOR_TYPE,
    OVERHEAD_SERVICES,
    TARGET_OVERHEAD_RATIO,
    describe_overhead,
    floor_program,
    graph_program,
    overhead_ratio,
    read_plan,
    triple_order,
    write_plan,
)
from secure_mesh.offline import program_run as engine
from tests.harness import (
    PROJECT_DIR,
    RegisteredResource,
    _collect_mock_outputs,
    load_stack_config,
    run_program,
)


def test_ratio_is_the_median_of_interleaved_pairs_not_the_ratio_of_medians() -> None:
    # pairs 2.0, 2.6, 1.833...: median 2.0; the ratio of the medians (11 / 5 = 2.2) would mix different loads
    assert overhead_ratio([10.0, 13.0, 11.0], [5.0, 5.0, 6.0]) == {
        "program_seconds": 11.0,
        "floor_seconds": 5.0,
        "ratio": 2.0,
        "pair_ratios": [2.0, 2.6, 1.833],
    }


def test_ratio_of_one_pair_and_of_an_even_number_of_pairs() -> None:
    assert overhead_ratio([1.3], [1.0])["ratio"] == 1.3
    assert overhead_ratio([2.0, 3.0], [2.0, 2.0]) == {
        "program_seconds": 2.5,
        "floor_seconds": 2.0,
        "ratio": 1.25,
        "pair_ratios": [1.0, 1.5],
    }


@pytest.mark.parametrize(
    ("program", "floor"),
    [([], []), ([1.0, 2.0], [1.0]), ([1.0], [0.0]), ([-1.0], [1.0])],
)
def test_ratio_refuses_unpaired_or_non_positive_samples(program: list[float], floor: list[float]) -> None:
    with pytest.raises(ValueError):
        overhead_ratio(program, floor)


def test_floor_registers_exactly_the_trivial_resources() -> None:
    run = engine.run_program(floor_program(25), PROJECT_DIR, {}, {}, "bench")
    registered = sorted(run.resources, key=lambda r: int(r.name.removeprefix("floor-")))  # the engine's order varies
    assert [(r.type, r.name, r.inputs) for r in registered] == [
        (FLOOR_TYPE, f"floor-{i}", {"value": f"value-{i}"}) for i in range(25)
    ]
    for resource in run.resources:
        assert resource.custom
        assert resource.parent.endswith("::pulumi:pulumi:Stack::secure-mesh-bench"), "the stack is the parent"
        assert (resource.provider, resource.dependencies, resource.property_dependencies) == ("", (), {"value": ()})


def _registration(resource: RegisteredResource) -> str:
    """One registration as a whole: everything the engine received that the graph replay must reproduce."""
    return json.dumps(
        [
            resource.type,
            resource.name,
            resource.parent,
            resource.provider,
            resource.custom,
            sorted(resource.dependencies),
            dict(rpc.deserialize_properties(resource.wire_inputs)),  # secrets still in their envelope, at any depth
            sorted(resource.secret_inputs),
            list(resource.additional_secret_outputs),
            resource.protect,
            resource.retain_on_delete,
            list(resource.ignore_changes),
        ],
        sort_keys=True,
    )


def _replay(plan_file: Path, config: dict[str, Any], secrets: dict[str, str]) -> list[RegisteredResource]:
    run = engine.run_program(
        graph_program(read_plan(plan_file)), PROJECT_DIR, config, secrets, BENCH_STACK, False, _collect_mock_outputs()
    )
    return run.resources


@pytest.mark.parametrize("mesh", ["dev stack", "10 generated services"])
def test_graph_replay_registers_exactly_the_recorded_graph(mesh: str, tmp_path: Path) -> None:
    if mesh == "dev stack":
        config, secrets = load_stack_config("dev"), {}
    else:
        config, secrets = generate_config(10)
    run = run_program(config, secrets, stack=BENCH_STACK)
    recorded = run.resources
    write_plan(recorded, tmp_path / "plan.json", run.reads)
    replayed = _replay(tmp_path / "plan.json", config, secrets)  # a fresh engine, the plan read from the file

    # the engine's order varies between runs: compare the multisets of whole registrations
    assert sorted(map(_registration, replayed)) == sorted(map(_registration, recorded))
    # not vacuous: the graph has what the replay must get right
    stack_children = [r for r in recorded if r.parent.endswith("::pulumi:pulumi:Stack::secure-mesh-bench")]
    assert 0 < len(stack_children) < len(recorded), "resources parented to components and to the stack"
    assert any(r.type.startswith("pulumi:providers:") for r in recorded)
    assert sum(bool(r.provider) for r in recorded) > len(recorded) // 2, "explicit providers (`<urn>::<id>`)"
    assert sum(len(r.dependencies) for r in recorded) > len(recorded), "dependencies"
    assert any(r.secret_inputs for r in recorded) and any(r.additional_secret_outputs for r in recorded)
    assert any(not r.custom for r in recorded) and any(r.ignore_changes for r in recorded)


def _plan_entry(name: str, dependencies: Sequence[str]) -> dict[str, Any]:
    return {
        "type": FLOOR_TYPE,
        "name": name,
        "urn": f"urn:pulumi:bench::secure-mesh::{FLOOR_TYPE}::{name}",
        "parent": "",
        "provider": "",
        "custom": True,
        "inputs": {},
        "dependencies": list(dependencies),
        "additional_secret_outputs": [],
        "protect": False,
        "retain_on_delete": False,
        "ignore_changes": [],
    }


def test_graph_replay_refuses_a_plan_naming_a_resource_before_it_is_registered(tmp_path: Path) -> None:
    later = f"urn:pulumi:bench::secure-mesh::{FLOOR_TYPE}::b"
    (tmp_path / "plan.json").write_text(json.dumps([_plan_entry("a", [later]), _plan_entry("b", [])]))
    with pytest.raises(RuntimeError, match=f"its dependency {later} is not registered before it"):
        _replay(tmp_path / "plan.json", {}, {})


def test_triples_rotate_so_no_side_always_runs_first() -> None:
    assert [triple_order(i) for i in range(4)] == [
        ("program", "floor", "graph"),  # first: the floor needs the program's count, the graph its plan
        ("floor", "graph", "program"),
        ("graph", "program", "floor"),
        ("program", "floor", "graph"),
    ]


def test_committed_results_carry_the_overhead_measured_in_one_run() -> None:
    overhead = json.loads((BENCH_DIR / "results.json").read_text())["overhead"]
    assert overhead["services"] == OVERHEAD_SERVICES
    assert overhead["resources"] == overhead["floor_resources"] > 4 * OVERHEAD_SERVICES, "as many resources each"
    assert overhead["floor_type"] == FLOOR_TYPE
    pairs = overhead["pair_ratios"]
    assert len(pairs) == overhead["repeats"] >= 3
    assert overhead["ratio"] == round(statistics.median(pairs), 3)
    assert overhead["program_seconds"] > 0 and overhead["floor_seconds"] > 0
    assert overhead["wall"]["ratio"] > 0 and len(overhead["wall"]["pair_ratios"]) == len(pairs)
    assert overhead["target_ratio"] == TARGET_OVERHEAD_RATIO == 1.3
    assert overhead["within_target"] is (overhead["ratio"] <= TARGET_OVERHEAD_RATIO)


def test_committed_results_carry_the_graph_replay_of_the_same_triples() -> None:
    overhead = json.loads((BENCH_DIR / "results.json").read_text())["overhead"]
    repeats = overhead["repeats"]
    assert overhead["graph_resources"] == overhead["resources"], "the replay registered the whole graph"
    assert overhead["orders"] == [list(triple_order(i)) for i in range(repeats)]
    graph_pairs, beyond_pairs = overhead["graph_pair_ratios"], overhead["program_vs_graph_pair_ratios"]
    assert len(graph_pairs) == len(beyond_pairs) == repeats
    assert overhead["graph_ratio"] == round(statistics.median(graph_pairs), 3)
    assert overhead["program_vs_graph"] == round(statistics.median(beyond_pairs), 3)
    # per triple, program/floor = (graph/floor) x (program/graph), up to the rounding to 3 decimals
    for total, graph, beyond in zip(overhead["pair_ratios"], graph_pairs, beyond_pairs, strict=True):
        assert total == pytest.approx(graph * beyond, rel=2e-3)
    assert 1 < overhead["graph_ratio"] < overhead["ratio"], "the graph costs more than the floor, less than the program"
    assert (
        overhead["graph_seconds"] > 0 and overhead["wall"]["graph_seconds"] > 0 and overhead["wall"]["graph_ratio"] > 0
    )
    line = describe_overhead(overhead)
    for number in (overhead["ratio"], overhead["graph_ratio"], overhead["program_vs_graph"]):
        assert f"{number:.2f}" in line
