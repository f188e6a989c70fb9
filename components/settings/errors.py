"""Settings problems, each tied to the config key path it is about."""

from __future__ import annotations

from dataclasses import dataclass

CONFIG_NAMESPACE = "secure-mesh"


@dataclass(frozen=True)
class Problem:
    """One invalid setting: where it is, what was found and what is allowed."""

    path: str
    """Key path inside the namespace, e.g. ``pki.chains.server.leafMaxTtl`` or ``apps[1].upstreams[0]``."""
    message: str

    @property
    def key(self) -> str:
        """The full config key path as a user would type it (``secure-mesh:pki.keyBits``)."""
        return f"{CONFIG_NAMESPACE}:{self.path}"

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class SettingsError(ValueError):
    """The stack's configuration is invalid; raised before any resource is registered."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({count} problem{'s' if count != 1 else ''}):\n{lines}")

    @property
    def paths(self) -> list[str]:
        """The key paths of all problems, in the order found."""
        return [p.path for p in self.problems]


def join_path(parts: tuple[str | int, ...]) -> str:
    """Render a location such as ``('apps', 1, 'upstreams', 0)`` as ``apps[1].upstreams[0]``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
