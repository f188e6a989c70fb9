"""Server-TLS rotation by generation (``rotation.serverTlsGeneration``, issue 17 item 4), the program under mocks.

Upstream behaviour relied on (Vault's PKI secrets engine, multi-issuer since 1.11): a mount holds several keys and
issuers; ``intermediate/generate/internal`` with a new ``key_name`` makes a new key and CSR beside the old ones;
``intermediate/set-signed`` imports the signed certificate as a new issuer; ``config/issuers`` names the default
issuer, which roles without an ``issuer_ref`` (ours) issue from; the old issuer keeps verifying what it signed
until it expires, and auto-tidy's ``tidy_expired_issuers`` removes it after ``issuer_safety_buffer``.
Pulumi: a resource dropped from the program is deleted unless ``retain_on_delete`` (then only forgotten), and a
protected resource cannot be deleted at all; a program that fails deletes nothing.
"""

from __future__ import annotations

import pytest

from secure_mesh.pki.component import generation_key, generation_names
from secure_mesh.rotation.documents import RotationVersionError
from tests.harness import ProgramRun
from tests.pki.helpers import CSR, DEFAULT_ISSUER, ISSUER, ROLE, SET_SIGNED, SIGN, settle_failed_run
from tests.pki.recorded import RecordedRuns, dependency_names, names, one

KEY = "serverTlsGeneration"
L2 = "secure-mesh-pki-server-l2"
L1 = "secure-mesh-pki-server-l1"
PARTS = {"csr": CSR, "signed": SIGN, "set-signed": SET_SIGNED, "issuer": ISSUER}
"""A generation's resources: its key and CSR, the signature by level 1, the import, the named issuer."""


RUNS = RecordedRuns(KEY)
ROTATING_RUNS: tuple[tuple[str, int, int], ...] = (("prod", 2, 1), ("prod", 3, 2), ("dev", 2, 1))
"""(stack, generation, deployed generation) of the rotating runs the policy pack is checked on too (the
mutation runs' fork server computes them once: scripts/mutate.py)."""


def run(stack: str, generation: int | None, deployed: int | None) -> ProgramRun:
    """The program with ``rotation.serverTlsGeneration`` and a deployed record (computed once per file)."""
    return RUNS.run(stack, generation, deployed)


def generation_resources(generation: int) -> dict[str, str]:
    """The resource names of one generation of the server chain's issuing level, by part."""
    prefix, _ = generation_names(L2, "server-level2", generation)
    return {part: f"{prefix}-{part}" for part in PARTS}


def test_generation_one_is_the_levels_own_names() -> None:
    assert generation_names(L2, "server-level2", 1) == (L2, "server-level2")
    assert generation_names(L2, "server-level2", 2) == (f"{L2}-g2", "server-level2-g2")
    assert generation_names(L2, "server-level2", 10) == (f"{L2}-g10", "server-level2-g10")
    assert generation_key("server") == KEY


def test_raising_to_two_adds_exactly_the_new_generations_resources_and_removes_nothing() -> None:
    before, after = run("dev", None, None), run("dev", 2, 1)
    assert names(after) - names(before) == set(generation_resources(2).values())
    assert names(before) - names(after) == set()
    for part, type_token in PARTS.items():
        assert one(after, generation_resources(2)[part]).type == type_token


def test_raising_to_three_drops_generation_one_from_the_program_and_keeps_two() -> None:
    two, three = run("dev", 2, 1), run("dev", 3, 2)
    assert names(two) - names(three) == set(generation_resources(1).values())
    assert names(three) - names(two) == set(generation_resources(3).values())


def test_the_new_generation_is_the_old_one_with_its_own_key_and_issuer_name() -> None:
    """Whole inputs compared: only the key's and the issuer's names (and what is computed from the new CSR) differ."""
    after = run("dev", 2, 1)
    old, new = generation_resources(1), generation_resources(2)
    old_csr, new_csr = one(after, old["csr"]).inputs, one(after, new["csr"]).inputs
    assert new_csr == {**old_csr, "keyName": "server-level2-g2"}
    old_signed, new_signed = one(after, old["signed"]).inputs, one(after, new["signed"]).inputs
    assert {k: v for k, v in new_signed.items() if k != "csr"} == {k: v for k, v in old_signed.items() if k != "csr"}
    assert new_signed["backend"] == "consul/server/pki_int1", "level 1 signs the new generation inside Vault"
    old_issuer, new_issuer = one(after, old["issuer"]).inputs, one(after, new["issuer"]).inputs
    assert {k: v for k, v in new_issuer.items() if k != "issuerRef"} == {
        **{k: v for k, v in old_issuer.items() if k != "issuerRef"},
        "issuerName": "server-level2-g2",
    }
    assert new_issuer["leafNotAfterBehavior"] == "err"


def test_the_new_generation_is_ordered_like_a_level_and_becomes_the_default_issuer() -> None:
    after = run("dev", 2, 1)
    new = generation_resources(2)
    assert f"{L2}-mount" in dependency_names(after, one(after, new["csr"]))
    assert {new["csr"], f"{L1}-issuer", f"{L1}-default-issuer"} <= dependency_names(after, one(after, new["signed"]))
    assert {new["csr"], new["signed"]} <= dependency_names(after, one(after, new["set-signed"]))
    assert new["set-signed"] in dependency_names(after, one(after, new["issuer"]))
    default = one(after, f"{L2}-default-issuer")
    assert default.type == DEFAULT_ISSUER
    # the new issuer, and the check of the generation against this stack's own record
    assert dependency_names(after, default) >= {new["issuer"], "dev-deployed-versions"}
    assert generation_resources(1)["issuer"] not in dependency_names(after, default)
    role = one(after, "secure-mesh-pki-server-role")
    assert role.type == ROLE
    assert {new["issuer"], f"{L2}-default-issuer"} <= dependency_names(after, role)
    assert "issuerRef" not in role.inputs, "the role issues from the mount's default issuer, whichever it is"


def test_in_production_only_the_newest_generation_is_protected_and_every_generation_is_retained() -> None:
    """Raising N+1 drops N−1 from the program: retained, so Vault keeps its issuer for the leaves it signed;
    unprotected, so Pulumi may forget it; the newest stays protected like every production CA resource."""
    first, second, third = run("prod", None, None), run("prod", 2, 1), run("prod", 3, 2)
    for name in generation_resources(1).values():
        assert (one(first, name).protect, one(first, name).retain_on_delete) == (True, False), name
        assert (one(second, name).protect, one(second, name).retain_on_delete) == (False, True), name
    for name in generation_resources(2).values():
        assert (one(second, name).protect, one(second, name).retain_on_delete) == (True, True), name
        assert (one(third, name).protect, one(third, name).retain_on_delete) == (False, True), name
    for name in generation_resources(3).values():
        assert (one(third, name).protect, one(third, name).retain_on_delete) == (True, True), name
    default = one(third, f"{L2}-default-issuer")
    assert (default.protect, default.retain_on_delete) == (True, False)


def test_the_deployed_generation_is_recorded_once_it_is_the_default() -> None:
    assert run("dev", None, None).outputs["rotationVersions"] == {KEY: 1}
    assert run("dev", 2, 1).outputs["rotationVersions"] == {KEY: 2}
    assert run("dev", 2, 2).outputs["rotationVersions"] == {KEY: 2}, "re-running the deployed generation"


def test_rerunning_the_deployed_generation_registers_the_same_resources() -> None:
    again, raised = run("dev", 2, 2), run("dev", 2, 1)
    assert sorted((r.type, r.name, repr(r.inputs)) for r in again.resources) == sorted(
        (r.type, r.name, repr(r.inputs)) for r in raised.resources
    )


@pytest.mark.parametrize(
    ("requested", "deployed", "message"),
    [
        (1, 2, "secure-mesh:rotation.serverTlsGeneration: 1 is lower than the deployed version 2"),
        (2, 3, "secure-mesh:rotation.serverTlsGeneration: 2 is lower than the deployed version 3"),
        (3, 1, "secure-mesh:rotation.serverTlsGeneration: 3 skips version(s) 2..2 after the deployed version 1"),
    ],
)
def test_lowering_or_skipping_is_refused_before_the_default_issuer_moves(
    requested: int, deployed: int, message: str
) -> None:
    error, registered = RUNS.failure("dev", requested, deployed)
    settle_failed_run()
    assert f"RotationVersionError: {message}" in str(error)
    assert str(RotationVersionError(message)) == f"RotationVersionError: {message}"
    registered_names = {r.name for r in registered}
    assert f"{L2}-default-issuer" not in registered_names, "the default issuer waits for the check"
    assert generation_resources(requested)["csr"] not in registered_names or requested == 1
