"""``kiosk catalog bundle …``: publish the catalog as a signed, versioned bundle (issue 22).

    kiosk catalog bundle keygen --out KEY            a publisher's Ed25519 key (0600); prints the public key
    kiosk catalog bundle build --version V --out F   the catalog (checked first) as an unsigned bundle
    kiosk catalog bundle sign F --key KEY            sign it (in place, or --out)
    kiosk catalog bundle verify F --public-key B64   what a terminal checks: signature, hashes, the catalog

The public key goes into every terminal's ``catalog.bundle_keys``; the signed file to the platform, whose
rollout plan says which terminals take it (docs/platform-openapi.yaml, ``/v1/catalog``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import sys
import tempfile
from pathlib import Path

EXIT_REFUSED = 2


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("bundle", help="build, sign and check signed catalog bundles",
                            description="Publish the catalog as a signed, versioned bundle (kiosk/catalog/bundle.py).")
    bundle = parser.add_subparsers(dest="bundle_command", required=True)
    keygen = bundle.add_parser("keygen", help="make a publisher's Ed25519 signing key")
    keygen.add_argument("--out", type=Path, required=True, help="where to write the private key (mode 0600)")
    keygen.set_defaults(func=_keygen)
    build = bundle.add_parser("build", help="check the catalog and write it as an unsigned bundle")
    build.add_argument("--version", required=True, help="the bundle's version, e.g. 2026.12.1")
    build.add_argument("--catalog", type=Path, help="catalog folder (default: the packaged config/catalog/)")
    build.add_argument("--out", type=Path, required=True, help="the bundle file to write")
    build.set_defaults(func=_build)
    sign = bundle.add_parser("sign", help="sign a built bundle with a publisher's key")
    sign.add_argument("bundle", type=Path)
    sign.add_argument("--key", type=Path, required=True, help="the private key file from keygen")
    sign.add_argument("--out", type=Path, help="write here (default: replace the bundle file)")
    sign.set_defaults(func=_sign)
    verify = bundle.add_parser("verify", help="check a bundle as a terminal would")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--public-key", action="append", default=[], metavar="B64",
                        help="a trusted publisher key (repeatable; default: the settings' catalog.bundle_keys)")
    verify.add_argument("--config", help="settings file for catalog.bundle_keys")
    verify.set_defaults(func=_verify)


def _keygen(args: argparse.Namespace) -> int:
    from kiosk.crypto import SigningKey  # lazy: only publishers sign

    key = SigningKey.generate("intl")
    raw = key.private_bytes()
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(raw).decode("ascii") + "\n")
    print(f"private key written to {args.out} (keep it off the terminals)")
    print(f"public key, for catalog.bundle_keys: {key.public.text()}")
    return 0


def _build(args: argparse.Namespace) -> int:
    # lazy: the catalog's models cost 0.1 s (start-up: see kiosk/commands)
    from kiosk.catalog.bundle import BundleError, build_bundle, catalog_files
    from kiosk.catalog.loading import Catalog, CatalogError

    try:
        catalog = Catalog.load(args.catalog)
        data = build_bundle(catalog_files(args.catalog), args.version)
    except CatalogError as exc:
        print(f"catalog INVALID, no bundle written: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except BundleError as exc:
        print(f"no bundle written: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    args.out.write_bytes(data)
    print(f"bundle {args.version} ({len(catalog)} items, {len(data)} bytes, unsigned) written to {args.out}; "
          "sign it with `kiosk catalog bundle sign`")
    return 0


def _sign(args: argparse.Namespace) -> int:
    from kiosk.catalog.bundle import BundleError, sign_bundle  # lazy: as above
    from kiosk.crypto import SigningKey

    try:
        raw = base64.b64decode(args.key.read_text().strip(), validate=True)
        key = SigningKey("intl", raw)
    except (OSError, ValueError, binascii.Error) as exc:
        print(f"cannot read the signing key {args.key}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        signed = sign_bundle(args.bundle.read_bytes(), key)
    except (OSError, BundleError) as exc:
        print(f"not signed: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    out = args.out or args.bundle
    out.write_bytes(signed)
    print(f"signed with {key.public.text()} → {out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from kiosk.catalog.bundle import BundleError, BundleStore, read_bundle, trusted_keys  # lazy: as above

    texts = list(args.public_key)
    if not texts:
        from kiosk.settings import load_settings  # lazy: only without --public-key

        texts = list(load_settings(args.config).catalog.bundle_keys)
    try:
        bundle = read_bundle(args.bundle.read_bytes(), trusted_keys(texts))
        with tempfile.TemporaryDirectory() as tmp:
            catalog = BundleStore(Path(tmp)).install(bundle)
    except (OSError, ValueError, BundleError) as exc:
        print(f"bundle REFUSED: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"bundle {bundle.version} OK: signed by {bundle.signed_by}, {len(bundle.files)} files, "
          f"{len(catalog)} items")
    return 0
