"""What every container the program itself runs shares (layout-free, settings-free).

The catalog watcher, the gateway's CSI sync pod, the gossip rotation Job and the CA expiry CronJob all run as
a fixed non-root user with no privilege escalation, a read-only root filesystem and no Linux capabilities.
One function builds that securityContext, so a new workload cannot get a weaker one by copying an old literal.
"""

from __future__ import annotations

from typing import Any


def restricted_container(uid: int, *, seccomp: bool = False) -> dict[str, Any]:
    """A container ``securityContext``: non-root as ``uid``, no escalation, read-only root, every capability dropped.

    ``seccomp`` also sets ``RuntimeDefault`` at container level (the pod-level setting already covers the
    containers of pods that set it; the CronJob sets both).
    """
    context: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    if seccomp:
        context["seccompProfile"] = {"type": "RuntimeDefault"}
    return context
