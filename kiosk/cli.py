"""The ``kiosk`` command.

Heavy imports (pygame, Flask) happen inside the subcommands that need them, so ``kiosk config
check`` stays quick and the core package never imports a UI or web framework.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from devices.base import DeviceError
from kiosk.commands import register_all
from kiosk.logs import setup_logging
from kiosk.settings import (
    Problem,
    Settings,
    SettingsError,
    fallback_gateway_address,
    load_settings,
    settings_warnings,
)
from kiosk.supervisor import StartupError, Supervisor, key_problem, notify_ready, wait_until_fixed

log = logging.getLogger("kiosk")

EXIT_SETTINGS = 2


class _Version(argparse.Action):
    """``kiosk --version``: the installed release (read only when asked: start-up stays quick)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the installed release's version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version  # lazy: only for --version

        try:
            print(f"kiosk {version('gov-kiosk')}")
        except PackageNotFoundError:
            print("kiosk (not installed: running from a source tree)")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="24-hour government self-service terminal")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", metavar="FILE", help="settings file (default: /etc/kiosk/kiosk.toml if present)")
        return p

    def waits(p: argparse.ArgumentParser) -> None:
        p.add_argument("--wait-for-fix", action="store_true",
                       help="on settings that make running unsafe, say what to fix, serve a stand-in /health "
                            "(503 with the problems) and start once they are fixed, instead of exiting with "
                            "status 2 (the default under systemd, where exiting would be a restart loop)")

    run = add("run", "start the gateway, the kiosk app and (by default) the platform simulator, and supervise them")
    waits(run)
    run.add_argument("--fullscreen", action="store_true", help="full screen, for terminals")
    run.add_argument("--headless", action="store_true", help="no window even where a display exists")

    app = add("app", "run only the kiosk app (the touchscreen); expects a gateway")
    app.add_argument("--gateway-url", help="gateway base URL (default: from the settings)")
    app.add_argument("--fullscreen", action="store_true")
    app.add_argument("--headless", action="store_true")
    waits(app)

    waits(add("gateway", "run only the local gateway (outbox and forwarder)"))

    sim = add("platform-sim", "run the government platform simulator")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, help="port (default: platform.sim_port)")
    sim.add_argument("--latency", type=float, default=0.0, metavar="S", help="delay every answer by S seconds")
    sim.add_argument("--error-rate", type=float, default=None, metavar="P",
                     help="answer this share (0..1) of requests with --status (default 1 when --status is given)")
    sim.add_argument("--status", type=int, default=None, metavar="CODE", help="status of injected errors (503, 429 …)")
    sim.add_argument("--retry-after", type=float, default=None, metavar="S", help="Retry-After sent with injected errors")
    sim.add_argument("--drop", action="store_true", help="serve, then break the connection before the answer ends")
    sim.add_argument("--hang", type=float, default=0.0, metavar="S", help="wait S seconds before serving (a hang)")
    sim.add_argument("--duplicate", action="store_true",
                     help="serve, then answer 503 so the kiosk delivers again (duplicate deliveries)")

    demo = add("demo", "play a scripted resident journey headless and save every screen as PNG")
    demo.add_argument("--out", required=True, metavar="DIR", help="folder for the screenshots and summary.json")
    demo.add_argument("--journey", default=None, metavar="NAME",
                      help="one journey by name (print, guide, query, apply, appointment, certification, "
                           "offline_apply, printer_out, timeout, elder, zh_TW, en, progress, app_qr, card_pulled, audio), or all")

    register_all(sub)

    config = sub.add_parser("config", help="settings tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate the settings: exit status 2 on an error; warnings "
                                  "(a device that is not there, the sample PIN with real devices) exit 0")
    check.add_argument("--config", metavar="FILE")
    check.add_argument("--strict", action="store_true",
                       help="treat warnings as errors (exit status 2), e.g. in CI or before shipping a terminal")
    return parser


def _load(args: argparse.Namespace, *, check_devices: bool = False, check_tls: bool = False) -> Settings:
    return load_settings(args.config, check_devices=check_devices, check_tls=check_tls)


def _settings_failed(exc: SettingsError) -> int:
    exc.report()
    return EXIT_SETTINGS


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # keep stdout for our own messages
    args = _parser().parse_args(argv)
    if getattr(args, "func", None) is not None:  # a group from kiosk.commands
        setup_logging("WARNING", process=args.command)
        return int(args.func(args) or 0)

    if args.command == "config":
        try:
            settings = load_settings(args.config, check_devices=True, check_tls=True)
        except SettingsError as exc:
            return _settings_failed(exc)
        warnings = settings_warnings(settings)
        if warnings and args.strict:
            return _settings_failed(SettingsError(warnings))
        _report_warnings(warnings, "the kiosk starts with these, but fix them (--strict makes them errors)")
        source = args.config or "packaged defaults + /etc/kiosk/kiosk.toml (if present) + KIOSK_* variables"
        verdict = f"settings OK with {len(warnings)} warning(s)" if warnings else "settings OK"
        print(f"{verdict} ({source}); kiosk {settings.kiosk.id} at {settings.kiosk.place}")
        return 0

    if args.command in ("run", "gateway", "app"):
        startable, problems = _startable(args)
        if startable is None and not (args.wait_for_fix or os.environ.get("NOTIFY_SOCKET")):
            print(f"kiosk {args.command}: not starting: these settings make running unsafe; fix them, then start "
                  "again:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return EXIT_SETTINGS
        # Under systemd (or --wait-for-fix) it must not restart-loop on them: it says what to fix, keeps a
        # stand-in /health answering, and starts by itself once they are fixed.
        waited = startable or wait_until_fixed(lambda: _startable(args), None if args.command == "app" else
                                               fallback_gateway_address(args.config), prog=f"kiosk {args.command}")
        if waited is None:
            return EXIT_SETTINGS
        settings = waited
    else:
        try:
            settings = _load(args)
        except SettingsError as exc:
            return _settings_failed(exc)
    setup_logging(settings.logging.level, process=args.command, kiosk_id=settings.kiosk.id)
    if args.command in ("run", "app"):
        # A device that is not there does not stop the terminal: it runs degraded and says so.
        _report_warnings(settings_warnings(settings), "starting anyway: the terminal runs without what is "
                         "missing and picks devices up when they appear")

    handlers = {
        "run": _cmd_run,
        "app": _cmd_app,
        "gateway": _cmd_gateway,
        "platform-sim": _cmd_platform_sim,
        "demo": _cmd_demo,
    }
    return handlers[args.command](args, settings)


def _startable(args: argparse.Namespace) -> tuple[Settings | None, list[str]]:
    """The settings when ``args.command`` can start with them, else the problems that make running unsafe
    (settings errors, an unusable outbox key, for ``kiosk run`` a broken catalog), in plain words."""
    try:
        settings = _load(args, check_devices=args.command in ("run", "app"),
                         check_tls=args.command in ("run", "gateway"))
    except SettingsError as exc:
        return None, [str(p) for p in exc.problems]
    problems = []
    if args.command in ("run", "gateway"):
        problems.append(key_problem(settings))
    if args.command == "run":
        # lazy: the catalog's models cost 0.1 s; `kiosk app` draws its first frame before loading them
        from kiosk.catalog.loading import Catalog, CatalogError

        try:
            Catalog.load(settings.kiosk.catalog or None)
        except CatalogError as exc:
            problems.append(f"the service catalog has problems:\n{exc}")
    found = [p for p in problems if p]
    return (None, found) if found else (settings, [])


def _report_warnings(warnings: list[Problem], what_now: str) -> None:
    if not warnings:
        return
    print(f"kiosk: settings warnings ({what_now}):", file=sys.stderr)
    for problem in warnings:
        print(f"  {problem}", file=sys.stderr)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    # lazy: pygame loads only in the app's process, not in the supervisor's
    from screens.display import has_display

    headless = args.headless or not has_display()
    supervisor = Supervisor(settings, args.config, fullscreen=args.fullscreen, headless=headless)
    problems = supervisor.preflight()
    if problems:
        for problem in problems:
            print(f"kiosk: {problem}", file=sys.stderr)
        return 1
    if headless:
        print("kiosk: no display found: running headless (no window). Use `kiosk demo --out DIR` to see "
              "the screens.", flush=True)
    try:
        supervisor.start()
    except StartupError as exc:
        print(f"kiosk: could not start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        supervisor.stop()
        return 130
    print("kiosk: running; Ctrl-C stops everything.", flush=True)
    return supervisor.watch()


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _cmd_app(args: argparse.Namespace, settings: Settings) -> int:
    # The attract screen first, then everything else (P1): only the display and the screens are
    # imported before it is on screen.
    # lazy: pygame loads only in the app's process
    from screens.boot import first_frame

    display = first_frame(settings, headless=True if args.headless else None, fullscreen=args.fullscreen)
    try:
        return _run_app(args, settings, display)
    finally:
        display.close()


def _run_app(args: argparse.Namespace, settings: Settings, display: Any) -> int:
    # lazy: pygame (0.3 s) and requests load only in the app's process; the boot frame is drawn first
    # lazy: the catalog's models cost 0.1 s; `kiosk app` draws its first frame before loading them
    from kiosk.catalog.loading import CatalogError
    from local_api.client import GatewayClient, GatewayUnavailable
    from screens.app import KioskApp

    url = args.gateway_url or GatewayClient.for_settings(settings).base_url
    try:
        GatewayClient(url).health()
    except GatewayUnavailable as exc:
        print(f"kiosk app: the local gateway at {url} is not answering ({exc}). Start it with "
              "`kiosk gateway`, or use `kiosk run`, which starts everything.", file=sys.stderr)
        return 1
    try:
        # The devices open after the first turn of the loop (start_devices below), so a touch made
        # while the app was starting is served before that (P1).
        app = KioskApp(settings, gateway_url=url, headless=display.headless, fullscreen=args.fullscreen,
                       display=display, start_devices=False)
    except CatalogError as exc:
        print(f"kiosk app: the service catalog has problems:\n{exc}", file=sys.stderr)
        return EXIT_SETTINGS
    stop = _stop_on_signals()
    _report_first_change(app)
    try:
        # The attract screen's buttons are laid out before the first turn of the loop, so touches made
        # while the app was starting (waiting in the event queue) find them and are served by it.
        app.draw_if_changed()
        app.step()
        try:
            app.start_devices()
        except DeviceError as exc:
            print(f"kiosk app: a device could not be opened: {exc}", file=sys.stderr)
            return 1
        mode = "headless" if app.display.headless else "window"
        log.info("kiosk app running", extra={"display": mode, "gateway": url})
        notify_ready(mode)
        # The indexes search and the keyboard need, built or mapped off the UI thread, so the first
        # touch is served at once (P1); a keystroke that comes sooner waits for them or builds them.
        threading.Thread(target=_warm_indexes, args=(app.flow.catalog,), name="warm-indexes", daemon=True).start()
        app.run_forever(stop, fps=30 if not app.display.headless else 20)
    except SystemExit:
        pass
    finally:
        app.close()
    return 0


FIRST_CHANGE_ENV = "KIOSK_FIRST_CHANGE_FD"  # the benchmark's pipe: one line when a touch first changed the screen


def _report_first_change(app: Any) -> None:
    """For bench/bench_startup.py (P1, the first touch served): write ``screen NAME`` on the pipe named
    by :data:`FIRST_CHANGE_ENV` once the app shows a screen other than the attract screen."""
    fd = os.environ.pop(FIRST_CHANGE_ENV, None)
    if not fd:
        return
    before = app.on_frame

    def on_frame(screen: str, the_app: Any) -> None:
        if screen != "attract" and app.on_frame is on_frame:
            app.on_frame = before
            try:
                os.write(int(fd), f"screen {screen}\n".encode())
                os.close(int(fd))
            except OSError:
                pass  # the benchmark went away; the kiosk carries on
        if before is not None:
            before(screen, the_app)

    app.on_frame = on_frame


def _warm_indexes(catalog: Any) -> None:
    try:
        catalog.warm_up()  # 繁體 texts, search and keyboard indexes, each from its cache file
    except Exception:  # a keystroke builds them again on demand (and says what failed)
        log.exception("building the search and keyboard indexes in the background failed")


def _cmd_gateway(args: argparse.Namespace, settings: Settings) -> int:
    # lazy: Flask loads only in the gateway's process, not in the app's or the supervisor's
    from local_api.server import serve_gateway

    return serve_gateway(settings, ready=notify_ready) or 0


def _cmd_platform_sim(args: argparse.Namespace, settings: Settings) -> int:
    # lazy: Flask loads only in the process that serves the simulator
    from local_api.server import serve_platform_sim
    from local_api.sim.state import Faults

    port = settings.platform.sim_port if args.port is None else args.port
    wanted: dict[str, object] = {"latency_s": args.latency, "drop": args.drop, "hang_s": args.hang,
                                 "duplicate": args.duplicate, "retry_after_s": args.retry_after}
    if args.status is not None:
        wanted["status"] = args.status
    if args.error_rate is not None:
        wanted["error_rate"] = args.error_rate
    try:
        faults = Faults.from_json(wanted)
    except (TypeError, ValueError) as exc:
        print(f"kiosk platform-sim: {exc}", file=sys.stderr)
        return EXIT_SETTINGS
    return serve_platform_sim(args.host, port, settings.platform.secret, faults=faults, ready=notify_ready,
                              suite=settings.security.suite) or 0


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    # lazy: pygame and the demo's gateway load only for `kiosk demo`
    from screens.demo import JourneySkipped, run_demo

    try:
        summary = run_demo(settings, Path(args.out), args.journey)
    except JourneySkipped as exc:  # e.g. card_pulled without pcscd/vpcd: say why, do not pretend
        print(f"kiosk demo: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    failed = [name for name, outcome in summary.get("journeys", {}).items()
              if not outcome["ok"] and not outcome.get("skipped")]
    return 0 if summary.get("screens") and not failed else 1
