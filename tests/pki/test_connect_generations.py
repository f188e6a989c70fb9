"""Connect-root rotation by generation (``rotation.connectRootGeneration``, issue 17 item 4), the program under mocks.

Upstream behaviour relied on:
- Consul rotates its Connect root only when the CA configuration names another ``RootPKIPath``
  (``PUT /v1/connect/ca/configuration``; consul ``agent/consul/leader_connect_ca.go`` ``primaryUpdateRootCA``): with
  the Vault provider it reads the new mount's CA (``<new>/ca/pem``; a mount that already holds a CA is used, not
  generated), then has the *old* root cross-sign it at ``<old>/root/sign-self-issued``, a root-protected endpoint
  needing ``sudo`` and ``update`` (``agent/connect/ca/provider_vault.go`` ``CrossSignCA``; Consul docs, Vault CA,
  "Additional Vault ACL policies for sensitive operations"); a failure there fails the PUT and leaves the old root
  active. Both roots must have the same key type (Vault will not cross-sign RSA with EC).
- A Vault token keeps the policy *names* it logged in with; a policy's *text* is read at each request. So the grant
  goes into the mesh CA policy Consul's token already holds.
- The Helm values only bootstrap the CA (``initializeCAConfig`` keeps a stored configuration), so the consul
  provider's ``CertificateAuthority`` is what writes the new path; it has no update, so a changed path replaces it,
  which is one more PUT (its delete only forgets it).
- Pulumi: a resource dropped from the program is deleted unless ``retain_on_delete``; a protected one cannot be; a
  failed program deletes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from secure_mesh.composition.consul import federation_secondary_args
from secure_mesh.consul.helm_values import build_consul_values
from secure_mesh.identities.policies import connect_root_cross_sign_grants, mesh_ca_policy
from secure_mesh.layout import Layout
from secure_mesh.pki.component import generation_key
from secure_mesh.settings import ChainName, load_settings
from secure_mesh.settings.federation import primary_settings
from tests.harness import PROJECT_DIR, ProgramRun, deep_merge, load_stack_config
from tests.pki.helpers import CRL, CSR, DEFAULT_ISSUER, ISSUER, MOUNT, SET_SIGNED, SIGN, TIDY, URLS, settle_failed_run
from tests.pki.recorded import RecordedRuns, dependency_names, names, one

KEY = "connectRootGeneration"
L2 = "secure-mesh-pki-connect-l2"
L1 = "secure-mesh-pki-connect-l1"
POLICY = "secure-mesh-identities-mesh-ca-policy"
CONNECT_CA = "secure-mesh-connect-ca"
RELEASE = "secure-mesh-consul-release"
PARTS = {
    "mount": MOUNT,
    "urls": URLS,
    "crl": CRL,
    "tidy": TIDY,
    "csr": CSR,
    "signed": SIGN,
    "set-signed": SET_SIGNED,
    "issuer": ISSUER,
    "default-issuer": DEFAULT_ISSUER,
}
"""A generation of Consul's root: a whole mount with its hygiene, key, signature, import, issuer and default."""
CA_PARTS = ("csr", "signed", "set-signed", "issuer", "default-issuer")
API = {
    "consul": {"address": "https://localhost:8501"},
    "rotation": {"consulSecretsEngine": {"enabled": True, "consulAddress": "consul.example.com:8501"}},
}
"""Consul's API (the only way a running cluster takes a new root path), here already used at generation 1 (the
secrets engine's token is created through it), so the runs compare like for like."""


def _with_api(stack: str) -> dict[str, Any]:
    return deep_merge(load_stack_config(stack), API)


RUNS = RecordedRuns(KEY, _with_api)
ROTATING_RUNS: tuple[tuple[str, int, int | None], ...] = (
    ("prod", 2, 1),
    ("prod", 2, 2),
    ("prod", 3, 2),
    ("dev", 2, 1),
    ("fed-primary", 2, 1),
)
"""(stack, generation, deployed generation) of the runs rotating Consul's root that the policy pack is checked on
too: while switching (the cross-sign grant), switched (no grant), and the raise after (the mutation runs' fork
server computes them once: scripts/mutate.py)."""


def run(stack: str, generation: int | None, deployed: int | None) -> ProgramRun:
    """The program with ``rotation.connectRootGeneration`` and a deployed record (computed once per file)."""
    return RUNS.run(stack, generation, deployed)


def layout(stack: str, generation: int) -> Layout:
    return Layout(load_settings(RUNS.config(stack, generation)))








def generation_resources(generation: int) -> dict[str, str]:
    """The resource names of one generation of Consul's root, by part (generation 1 keeps the level's names)."""
    prefix = L2 if generation == 1 else f"{L2}-g{generation}"
    return {part: f"{prefix}-{part}" for part in PARTS}


def policy_paths(run_: ProgramRun) -> dict[str, list[str]]:
    document = json.loads(one(run_, POLICY).inputs["policy"])
    return {path: rule["capabilities"] for path, rule in document["path"].items()}


def rendered(paths: dict[str, frozenset[Any]]) -> dict[str, list[str]]:
    return {path: sorted(str(c) for c in capabilities) for path, capabilities in paths.items()}


def test_the_record_key_names_the_setting() -> None:
    assert generation_key("connect") == KEY


def test_raising_to_two_adds_exactly_a_new_mount_with_its_ca_and_removes_nothing() -> None:
    before, after = run("dev", None, None), run("dev", 2, 1)
    assert names(after) - names(before) == set(generation_resources(2).values())
    assert names(before) - names(after) == set()
    for part, type_token in PARTS.items():
        assert one(after, generation_resources(2)[part]).type == type_token


def test_raising_to_three_deletes_generation_one_and_keeps_two() -> None:
    two, three = run("dev", 2, 1), run("dev", 3, 2)
    assert names(two) - names(three) == set(generation_resources(1).values())
    assert names(three) - names(two) == set(generation_resources(3).values())


def test_the_new_generation_is_the_old_one_in_its_own_mount() -> None:
    """Whole inputs compared: the new mount's path (and what is named from it) and its CA's key and issuer names."""
    after = run("dev", 2, 1)
    old, new = generation_resources(1), generation_resources(2)
    old_path, new_path = "consul/connect/pki_int2", "consul/connect/pki_int2_g2"

    def moved(inputs: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(inputs).replace(old_path + '"', new_path + '"')
        return json.loads(text.replace(old_path + "/", new_path + "/"))

    assert one(after, new["mount"]).inputs == {
        **moved(one(after, old["mount"]).inputs),
        "description": "connect chain, intermediate CA level 2, generation 2",
    }
    for part in ("urls", "crl", "tidy"):
        assert one(after, new[part]).inputs == moved(one(after, old[part]).inputs), part
    assert one(after, new["csr"]).inputs == {**moved(one(after, old["csr"]).inputs), "keyName": "connect-level2-g2"}
    old_signed, new_signed = one(after, old["signed"]).inputs, one(after, new["signed"]).inputs
    assert {k: v for k, v in new_signed.items() if k != "csr"} == {k: v for k, v in old_signed.items() if k != "csr"}
    assert new_signed["backend"] == "consul/connect/pki_int1", "level 1 signs the new root inside Vault"
    old_issuer, new_issuer = one(after, old["issuer"]).inputs, one(after, new["issuer"]).inputs
    assert {k: v for k, v in new_issuer.items() if k != "issuerRef"} == {
        **{k: v for k, v in moved(old_issuer).items() if k != "issuerRef"},
        "issuerName": "connect-level2-g2",
    }
    assert one(after, new["default-issuer"]).inputs["backend"] == new_path


def test_the_new_mount_waits_for_the_check_and_the_ca_is_ordered_like_a_level() -> None:
    after = run("dev", 2, 1)
    new = generation_resources(2)
    assert "dev-deployed-versions" in dependency_names(after, one(after, new["mount"])), "nothing before the check"
    for part in ("urls", "crl", "tidy", "csr"):
        assert new["mount"] in dependency_names(after, one(after, new[part])), part
    assert {new["csr"], f"{L1}-issuer", f"{L1}-default-issuer"} <= dependency_names(after, one(after, new["signed"]))
    assert {new["csr"], new["signed"]} <= dependency_names(after, one(after, new["set-signed"]))
    assert new["set-signed"] in dependency_names(after, one(after, new["issuer"]))
    assert new["issuer"] in dependency_names(after, one(after, new["default-issuer"]))
    assert generation_resources(1)["issuer"] not in dependency_names(after, one(after, new["default-issuer"]))


def test_consul_is_switched_through_its_api_after_the_new_root_and_the_cross_sign_grant() -> None:
    after = run("dev", 2, 1)
    authority = one(after, CONNECT_CA)
    config = json.loads(authority.inputs["configJson"])
    assert config["RootPKIPath"] == "consul/connect/pki_int2_g2"
    assert config["IntermediatePKIPath"] == "consul/connect/pki_consul_dc1", "Consul's intermediate mount is kept"
    before = json.loads(one(run("dev", None, None), CONNECT_CA).inputs["configJson"])
    assert {k: v for k, v in config.items() if k != "RootPKIPath"} == {
        k: v for k, v in before.items() if k != "RootPKIPath"
    }
    new = generation_resources(2)
    assert {POLICY, new["default-issuer"], new["issuer"], new["urls"], new["crl"], new["tidy"]} <= dependency_names(
        after, authority
    )
    values = one(after, RELEASE).inputs["values"]["global"]["secretsBackend"]["vault"]["connectCA"]
    assert values["rootPKIPath"] == "consul/connect/pki_int2_g2", "a new cluster or a restore bootstraps the new root"


def test_the_raising_run_grants_the_cross_sign_on_the_old_root_and_the_next_run_removes_it() -> None:
    at_two = layout("dev", 2)
    base = rendered(mesh_ca_policy(at_two).paths)
    grant = rendered(connect_root_cross_sign_grants(at_two))
    assert grant == {
        "sys/mounts/consul/connect/pki_int2": ["read"],
        "consul/connect/pki_int2/": ["read"],
        "consul/connect/pki_int2/root/sign-intermediate": ["update"],
        "consul/connect/pki_int2/root/sign-self-issued": ["sudo", "update"],
    }
    assert base["consul/connect/pki_int2_g2/root/sign-intermediate"] == ["update"], "the new root signs from now on"
    assert not set(base) & set(grant)
    assert policy_paths(run("dev", 2, 1)) == {**base, **grant}, "raising: old and new root, and the cross-sign"
    assert policy_paths(run("dev", 2, None)) == {**base, **grant}, "no record yet: granted until one shows 2"
    assert policy_paths(run("dev", 2, 2)) == base, "Consul switched (the record shows 2): the grant is gone"
    assert policy_paths(run("dev", None, None)) == rendered(mesh_ca_policy(layout("dev", 1)).paths)
    assert "sudo" not in json.dumps(policy_paths(run("dev", None, None)))


def test_in_production_the_old_generation_is_unprotected_and_its_mount_is_deleted_by_the_raise_after() -> None:
    """The raise to N makes N−1 unprotected; the raise to N+1 drops it: its CA resources are retained (the mount's
    deletion takes them with it), the mount itself is not, so Vault unmounts it."""
    first, second, third = run("prod", None, None), run("prod", 2, 1), run("prod", 3, 2)
    one_names, two_names = generation_resources(1), generation_resources(2)
    for part, name in one_names.items():
        assert one(first, name).protect is (part not in ("urls", "crl", "tidy")), name
        assert one(first, name).retain_on_delete is False, name
        assert one(second, name).protect is False, name
        assert one(second, name).retain_on_delete is (part in CA_PARTS), name
    for part, name in two_names.items():
        assert one(second, name).protect is (part not in ("urls", "crl", "tidy")), name
        assert one(third, name).protect is False, name
        assert one(third, name).retain_on_delete is (part in CA_PARTS), name


def test_the_generation_is_recorded_once_consul_took_it() -> None:
    after = run("dev", 2, 1)
    assert after.outputs["rotationVersions"][KEY] == 2
    assert run("dev", None, None).outputs["rotationVersions"][KEY] == 1
    assert run("dev", 2, 2).outputs["rotationVersions"][KEY] == 2, "re-running the deployed generation"


def test_rerunning_the_deployed_generation_changes_only_the_policy() -> None:
    again, raised = run("dev", 2, 2), run("dev", 2, 1)
    changed = {
        r.name
        for r in again.resources
        if repr(r.inputs) != repr(one(raised, r.name).inputs) or r.type != one(raised, r.name).type
    }
    assert names(again) == names(raised)
    assert changed == {POLICY}


@pytest.mark.parametrize(
    ("requested", "deployed", "message"),
    [
        (1, 2, "secure-mesh:rotation.connectRootGeneration: 1 is lower than the deployed version 2"),
        (2, 3, "secure-mesh:rotation.connectRootGeneration: 2 is lower than the deployed version 3"),
        (3, 1, "secure-mesh:rotation.connectRootGeneration: 3 skips version(s) 2..2 after the deployed version 1"),
    ],
)
def test_lowering_or_skipping_is_refused_before_the_new_mount(requested: int, deployed: int, message: str) -> None:
    error, registered = RUNS.failure("dev", requested, deployed)
    settle_failed_run()
    assert f"RotationVersionError: {message}" in str(error)
    registered_names = {r.name for r in registered}
    assert CONNECT_CA not in registered_names, "Consul is not switched"
    if requested > 1:
        assert generation_resources(requested)["mount"] not in registered_names, "the new mount waits for the check"


def test_a_federation_secondary_follows_its_primarys_connect_root_from_the_primarys_stack_file(
    tmp_path: Path,
) -> None:
    """A WAN federation shares one connect root: the primary raises its generation; each secondary computes the
    primary's names from the primary's stack file, so its Helm values and its check of the primary's outputs name the
    new mount on its next ``up`` (Consul's secondaries re-sign their intermediates themselves: leader_connect_ca.go
    ``secondaryUpdateRoots``)."""
    primary_file = yaml.safe_load((PROJECT_DIR / "Pulumi.fed-primary.yaml").read_text())
    primary_file["config"]["secure-mesh:consul"]["address"] = "https://localhost:8501"
    primary_file["config"]["secure-mesh:rotation"] = {KEY: 2}
    (tmp_path / "Pulumi.fed-primary.yaml").write_text(yaml.safe_dump(primary_file))
    secondary = load_settings(load_stack_config("fed-secondary"))
    at_one = Layout(secondary, primary_settings(secondary, PROJECT_DIR))
    rotated = Layout(secondary, primary_settings(secondary, tmp_path))
    assert at_one.connect_root_pki_path == "consul-dc1/connect/pki_int2"
    assert rotated.connect_root_pki_path == "consul-dc1/connect/pki_int2_g2"
    assert federation_secondary_args(rotated).expected.connect_root_pki_path == "consul-dc1/connect/pki_int2_g2"
    values = build_consul_values(secondary, rotated)["global"]["secretsBackend"]["vault"]["connectCA"]
    assert values["rootPKIPath"] == "consul-dc1/connect/pki_int2_g2"
    assert values["intermediatePKIPath"] == at_one.connect_intermediate_pki_path, "its own intermediate is kept"
    assert rotated.superseded_connect_root_mount is None, "the secondary holds no connect chain of its own"
    assert rotated.chain_mounts(ChainName.CONNECT) == ()
