"""Checked-in JSON snapshots of whole texts (findings, settings errors), one entry per case, shared by xdist workers."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path


def pinned(file: Path, key: str, lines: list[str], regenerate: str) -> list[str]:
    """The checked-in ``lines`` of case ``key`` in ``file`` (this run's, written first, when UPDATE_SNAPSHOTS is set).

    A file is shared by many cases; xdist workers update it under a lock, one entry at a time. ``regenerate`` is
    the command the failure message tells the reader to run (then review the diff).
    """
    update = bool(os.environ.get("UPDATE_SNAPSHOTS"))
    file.parent.mkdir(exist_ok=True)
    with file.open("a+" if update else "r") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if update else fcntl.LOCK_SH)
        handle.seek(0)
        text = handle.read()
        entries: dict[str, list[str]] = json.loads(text) if text.strip() else {}
        if update:
            entries[key] = lines
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(dict(sorted(entries.items())), indent=1, ensure_ascii=False) + "\n")
    assert key in entries, f"no snapshot of {key!r} in {file.name}: {regenerate}"
    return entries[key]
