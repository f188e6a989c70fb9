"""Read rendered intention resources back into an allow/deny matrix, independently of the renderer's code.

Consul's evaluation for a call from S to D: the intentions of destination D, an exact source S first,
then source ``*``; then the ``*`` destination's intentions the same way; with no match, deny (ACLs
default to deny). An L7 source answers with its permissions (each an allow for matching requests).
"""

from __future__ import annotations

from typing import Any

from tests.harness import ProgramRun

CRD_INTENTIONS = "kubernetes:consul.hashicorp.com/v1alpha1:ServiceIntentions"
CRD_DEFAULTS = "kubernetes:consul.hashicorp.com/v1alpha1:ServiceDefaults"
ENTRY_INTENTIONS = "consul:index/configEntryServiceIntentions:ConfigEntryServiceIntentions"
ENTRY_DEFAULTS = "consul:index/configEntryServiceDefaults:ConfigEntryServiceDefaults"


def _describe_match(match: dict[str, Any]) -> str:
    methods = ",".join(match.get("methods") or []) or "ANY"
    parts = [methods]
    if "pathExact" in match:
        parts.append(f"exact {match['pathExact']}")
    if "pathPrefix" in match:
        parts.append(f"prefix {match['pathPrefix']}")
    return " ".join(parts)


def _outcome(source: dict[str, Any], matches_of: str) -> str:
    if "permissions" in source:
        assert "action" not in source, f"source {source['name']} has both action and permissions"
        rules = []
        for permission in source["permissions"]:
            assert permission["action"] == "allow", f"unexpected L7 action {permission['action']}"
            matches = permission[matches_of]
            for match in matches if isinstance(matches, list) else [matches]:
                rules.append(_describe_match(match))
        return "l7[" + "; ".join(rules) + "]"
    return str(source["action"])


def entries_from_crds(run: ProgramRun) -> dict[str, list[dict[str, Any]]]:
    """Sources by destination, from ServiceIntentions custom resources."""
    entries: dict[str, list[dict[str, Any]]] = {}
    for resource in run.of_type(CRD_INTENTIONS):
        destination = resource.inputs["spec"]["destination"]["name"]
        assert destination not in entries, f"{resource}: a second ServiceIntentions for {destination}"
        entries[destination] = resource.inputs["spec"]["sources"]
    return entries


def entries_from_config_entries(run: ProgramRun) -> dict[str, list[dict[str, Any]]]:
    """Sources by destination, from service-intentions config entries."""
    entries: dict[str, list[dict[str, Any]]] = {}
    for resource in run.of_type(ENTRY_INTENTIONS):
        destination = resource.inputs["name"]
        assert destination not in entries, f"{resource}: a second config entry for {destination}"
        entries[destination] = resource.inputs["sources"]
    return entries


def matrix(
    entries: dict[str, list[dict[str, Any]]], services: list[str], matches_of: str
) -> dict[tuple[str, str], str]:
    """What every call between distinct declared services gets, as Consul would evaluate the entries."""
    result: dict[tuple[str, str], str] = {}
    for source in services:
        for destination in services:
            if source == destination:
                continue
            outcome = "deny"
            for entry in (destination, "*"):
                by_name = {s["name"]: s for s in entries.get(entry, [])}
                chosen = by_name.get(source) or by_name.get("*")
                if chosen is not None:
                    outcome = _outcome(chosen, matches_of)
                    break
            result[(source, destination)] = outcome
    return result


def crd_matrix(run: ProgramRun, services: list[str]) -> dict[tuple[str, str], str]:
    return matrix(entries_from_crds(run), services, "http")


def config_entry_matrix(run: ProgramRun, services: list[str]) -> dict[tuple[str, str], str]:
    return matrix(entries_from_config_entries(run), services, "https")
