"""PATH for running a script against stub CLIs."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def stub_path(stubs: Path) -> str:
    """The stubs first, then this interpreter's directory, then the rest of PATH.

    The Python stubs start with ``#!/usr/bin/env -S python3 -S -E``: with the interpreter's own directory ahead of
    a version manager's shims, ``python3`` starts in about a fifth of the time (a shim is a shell script that
    looks the version up on every call), and the script tests start dozens of stubs each.
    """
    return os.pathsep.join([str(stubs), str(Path(sys.executable).parent), os.environ["PATH"]])
