"""Put ``policy/`` on sys.path, so tests import the rules exactly as ``pulumi preview --policy-pack policy`` does.

Never import ``policy/__main__.py``: ``PolicyPack(...)`` starts a gRPC server and never returns.
"""

from __future__ import annotations

import sys
from pathlib import Path

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))
