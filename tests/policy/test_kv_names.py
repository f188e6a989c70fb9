"""KV-NO-PLAINTEXT's name test, at its edges: which key paths and variable names count as secret-named.

The rule judges a value by its content first and, for Helm values and environment variables, by the last key of
its path: that key (list indexes dropped, ``_`` and ``-`` ignored, any case) ending in a secret's word, unless it
only references a secret (``…SecretName``, ``…SecretKey``, ``…SecretRef``, ``secretObjects``).
"""

from __future__ import annotations

import pytest
from secure_mesh_policy.kv import _secret_named


@pytest.mark.parametrize(
    ("path", "secret"),
    [
        ("password", True),  # a top-level key: no dot to split on
        ("values.server.password", True),
        ("values.server.db_password", True),
        ("values.server.p_a_s_s_w_o_r_d", True),  # underscores ignored
        ("values.server.api-token", True),
        ("values.server.p-a-s-s-w-d", True),  # dashes ignored
        ("values.server.API_TOKEN", True),  # any case
        ("values.tokens[0].password[1][2]", True),  # the key's own indexes dropped, however many
        ("values.password.path", False),  # only the last key counts
        ("values.password.b[0]", False),
        ("values.server.passwordSecretName", False),  # references, not secrets
        ("values.server.PasswordSecretKey", False),
        ("values.server.tokenSecretRef", False),
        ("values.csi.secretObjects", False),
        ("values.server.passwords", False),  # the word must end the key
        ("values.server.enabled", False),
    ],
)
def test_a_key_is_secret_named_by_its_last_segment(path: str, secret: bool) -> None:
    assert _secret_named(path) is secret
