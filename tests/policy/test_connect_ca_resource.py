"""CSL-CA-TTL on the program's own Connect CA resource (consul ``CertificateAuthority``, written after bootstrap)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import stack_run
from tests.policy.support import check

CA = "consul:index/certificateAuthority:CertificateAuthority"


@pytest.mark.parametrize("stack", ["peer-east", "peer-west"])
def test_the_pack_checks_the_api_configuration_like_the_helm_values(stack: str) -> None:
    """The stack's configJson passes; a leaf TTL Consul refuses is caught in the resource, named by its key."""
    (authority,) = stack_run(stack).of_type(CA)
    props = {"connectProvider": "vault", "configJson": authority.inputs["configJson"]}
    assert check("csl-ca-ttl", CA, props) == []
    weakened = json.loads(authority.inputs["configJson"]) | {"LeafCertTTL": "30m"}
    (message,) = check("csl-ca-ttl", CA, {**props, "configJson": json.dumps(weakened)})
    assert message == (
        "CertificateAuthority 'subject': leaf_cert_ttl in configJson = '30m': Consul refuses a leaf_cert_ttl outside "
        "1h to 8760h. Fix: set leaf_cert_ttl to 72h"
    )
