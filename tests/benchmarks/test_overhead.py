"""The program-vs-floor overhead measurement of ``make bench`` (issue 15: program ≤ 1.3x a bare-SDK floor).

The 2,000-service pairs themselves run only in ``make bench``; here: the ratio arithmetic, the floor program
(what "trivial resource" means), and that the committed results carry the measurement.
"""

from __future__ import annotations

import json
import statistics

import pytest

from benchmarks.run import (
    BENCH_DIR,
    FLOOR_TYPE,
    OVERHEAD_SERVICES,
    TARGET_OVERHEAD_RATIO,
    floor_program,
    overhead_ratio,
)
from secure_mesh.offline import program_run as engine
from tests.harness import PROJECT_DIR


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
