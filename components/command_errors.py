"""Misuse of the offline commands (``python -m secure_mesh``, ``policy/check_inventory.py``) as one-line errors.

A command that is called wrongly (an unknown stack, ``--out`` naming a file, a missing inventory, no AWS
credentials for the root ceremony) raises :class:`CommandError` or lets a known library error through;
:func:`describe_failure` turns either into the message the command prints instead of a traceback.
"""

from __future__ import annotations


class CommandError(Exception):
    """A command was called in a way it cannot serve; the message says what is missing and how to fix it."""


AWS_CREDENTIALS_HINT = (
    "set AWS credentials the way the AWS CLI reads them (AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or an SSO login) for an identity allowed kms:GetPublicKey and kms:Sign on the key"
)


def describe_failure(error: BaseException) -> str | None:
    """The one-line message for a known misuse, or None for a real bug (which keeps its traceback)."""
    if isinstance(error, CommandError):
        return str(error)
    try:
        from botocore import exceptions as aws
    except ImportError:  # pragma: no cover - boto3 is a runtime dependency
        return None
    if isinstance(error, aws.NoCredentialsError | aws.PartialCredentialsError):
        return f"no usable AWS credentials: {AWS_CREDENTIALS_HINT}"
    if isinstance(error, aws.NoRegionError):
        return "no AWS region: pass --region"
    if isinstance(error, aws.EndpointConnectionError):
        return f"cannot reach AWS KMS ({error}); check the region and the network"
    if isinstance(error, aws.ClientError):
        code = error.response.get("Error", {}).get("Code", "error")
        message = error.response.get("Error", {}).get("Message", str(error))
        return f"AWS KMS refused the request ({code}): {message}"
    return None
