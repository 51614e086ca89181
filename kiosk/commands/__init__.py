"""Subcommand groups of ``kiosk`` beyond the core ones (run, app, gateway, platform-sim, demo, config).

Each module named in ``GROUPS`` has ``register(subparsers)``, which adds its parsers and sets
``func(args) -> int`` on each. Modules import heavy libraries (OpenCV, pyscard, Flask, the catalog's
models, the printer and outbox stacks) inside their handlers, never at import (each such import says
``# lazy:`` why): every ``kiosk`` command builds this parser first, ``kiosk app`` before it draws its
first frame (TARGETS P1), and ``kiosk --help`` stays quick.
"""

from __future__ import annotations

import argparse
import importlib

GROUPS = ("kiosk.commands.devices", "kiosk.commands.outbox", "kiosk.commands.catalog",
          "kiosk.commands.maintenance", "kiosk.commands.audit", "kiosk.commands.totp",
          "kiosk.commands.fleet")


def register_all(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name in GROUPS:
        importlib.import_module(name).register(subparsers)
