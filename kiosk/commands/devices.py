"""``kiosk devices …``: technicians' tools for the terminal's devices.

Each device kind adds its subcommands from its own module, listed in ``DEVICE_MODULES``; every
module has ``register(devices_subparsers)``.
"""

from __future__ import annotations

import argparse
import importlib

DEVICE_MODULES: tuple[str, ...] = ("kiosk.commands.devices_id", "kiosk.commands.devices_ssc",
                                   "kiosk.commands.devices_printer", "kiosk.commands.devices_camera")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("devices", help="list, probe and test the terminal's devices",
                                   description="Technicians' tools: list ports, probe, test-read and test-print.")
    sub = parser.add_subparsers(dest="devices_command", required=True)
    for name in DEVICE_MODULES:
        importlib.import_module(name).register(sub)
