r"""The root ceremony of the ``aws-kms`` custody: make the self-signed root certificate once, through KMS.

    python -m secure_mesh root-ca init --kms-key <key id or ARN> --region <region> \\
        [--common-name "secure-mesh root CA"] [--organization secure-mesh] [--ttl 87600h] [--max-path-length 4]

It prints the root certificate (PEM) on stdout; paste it into ``pki.awsKms.rootCertificatePem``. The
key must be an asymmetric ``SIGN_VERIFY`` KMS key (ECC_NIST_P256/P384 or RSA_2048/3072/4096) matching
``pki.keyType``/``keyBits``. AWS credentials come from the environment; the private key never leaves KMS.

    python -m secure_mesh root-ca crl --kms-key <key id or ARN> --region <region> --root-certificate root.pem \\
        [--next-update 720h] [--crl-number N] [--revoke <serial hex>]...

signs the root's CRL through KMS (empty unless ``--revoke`` names level-1 serials) and prints it (PEM) on
stdout; publish it (DER: ``openssl crl -outform DER``) at the URL in ``pki.rootCrlUrls`` and sign a new one
before ``--next-update`` passes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..settings import duration_seconds
from .certificates import CertificateCheckError

DEFAULT_COMMON_NAME = "secure-mesh root CA"
DEFAULT_ORGANIZATION = "secure-mesh"
DEFAULT_TTL = "87600h"
DEFAULT_CRL_NEXT_UPDATE = "720h"
"""How long a CRL signed at the ceremony stays current: re-sign (and publish) it within 30 days."""
DEFAULT_MAX_PATH_LENGTH = 4
"""Room for three Vault-held levels plus Consul's own intermediate under the mesh chain."""


def _duration(text: str) -> int:
    try:
        return duration_seconds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _init(args: argparse.Namespace) -> int:
    from .kms import KmsSigner, build_root_certificate

    signer = KmsSigner(args.kms_key, args.region)
    try:
        pem = build_root_certificate(
            signer,
            common_name=args.common_name,
            organization=args.organization,
            ttl_seconds=args.ttl,
            max_path_length=args.max_path_length,
        )
    except CertificateCheckError as error:
        print(f"root-ca init: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(pem)
    print(
        f"root-ca init: made a {signer.algorithm.key_spec} root certificate with KMS key {args.kms_key}; "
        "paste it into secure-mesh:pki.awsKms.rootCertificatePem",
        file=sys.stderr,
    )
    return 0


def _serial(text: str) -> int:
    try:
        return int(text.replace(":", ""), 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a hexadecimal certificate serial number") from None


def _crl(args: argparse.Namespace) -> int:
    import time

    from .kms import KmsSigner, build_crl

    signer = KmsSigner(args.kms_key, args.region)
    try:
        with open(args.root_certificate, encoding="utf-8") as handle:
            root_pem = handle.read()
        pem = build_crl(
            signer,
            root_pem,
            crl_number=args.crl_number if args.crl_number is not None else int(time.time()),
            next_update_seconds=args.next_update,
            revoked_serials=tuple(args.revoke),
        )
    except (CertificateCheckError, OSError) as error:
        print(f"root-ca crl: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(pem)
    revoked = f"revoking {len(set(args.revoke))} certificate(s)" if args.revoke else "revoking nothing"
    print(
        f"root-ca crl: signed the root's CRL with KMS key {args.kms_key} ({revoked}); publish it at "
        "secure-mesh:pki.rootCrlUrls before the current one's next update",
        file=sys.stderr,
    )
    return 0


def add_root_ca_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``root-ca init`` to a command-line parser's subcommands."""
    root_ca = subparsers.add_parser("root-ca", help="the offline root CA of the aws-kms custody")
    commands = root_ca.add_subparsers(dest="root_ca_command", required=True)
    init = commands.add_parser("init", help="make the self-signed root certificate through AWS KMS (once)")
    init.add_argument("--kms-key", required=True, help="the KMS key id, alias or ARN (SIGN_VERIFY)")
    init.add_argument("--region", required=True, help="the key's AWS region")
    init.add_argument("--common-name", default=DEFAULT_COMMON_NAME)
    init.add_argument("--organization", default=DEFAULT_ORGANIZATION)
    init.add_argument("--ttl", type=_duration, default=DEFAULT_TTL, help="validity, e.g. 87600h (10 years)")
    init.add_argument(
        "--max-path-length",
        type=int,
        default=DEFAULT_MAX_PATH_LENGTH,
        help="CA levels allowed below the root (default: 3 Vault levels + Consul's intermediate)",
    )
    init.set_defaults(handler=_init)
    crl = commands.add_parser("crl", help="sign the root's CRL through AWS KMS (at the ceremony, and to revoke)")
    crl.add_argument("--kms-key", required=True, help="the root's KMS key id, alias or ARN")
    crl.add_argument("--region", required=True, help="the key's AWS region")
    crl.add_argument("--root-certificate", required=True, help="file with the root certificate (PEM) root-ca init made")
    crl.add_argument(
        "--next-update", type=_duration, default=DEFAULT_CRL_NEXT_UPDATE, help="how long the CRL is current (720h)"
    )
    crl.add_argument("--crl-number", type=int, default=None, help="the CRL number (default: the Unix time, increasing)")
    crl.add_argument(
        "--revoke", type=_serial, action="append", default=[], help="serial (hex) of a level-1 certificate to revoke"
    )
    crl.set_defaults(handler=_crl)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the root ceremony commands on their own (``python -m secure_mesh.pki.ceremony root-ca init ...``)."""
    parser = argparse.ArgumentParser(prog="python -m secure_mesh")
    add_root_ca_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
