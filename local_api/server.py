"""Serving the gateway and the platform simulator with waitress (and cheroot for the operators' TLS door).

:class:`ServerHandle` owns one waitress server: ``start()`` runs it in a background thread
(tests, ``kiosk run``), ``serve()`` blocks the calling thread (the console scripts), and
``close()`` stops it from anywhere. :func:`serve_gateway` builds the gateway's services
around the settings and tears them down in the right order on exit or SIGTERM. waitress has no TLS:
with ``gateway.tls_cert`` and ``tls_key`` set, :class:`TLSServerHandle` (cheroot with Python's ``ssl``)
serves the same app over HTTPS on ``gateway.host:tls_port`` and the plain door moves to 127.0.0.1
(:func:`open_listeners`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from flask import Flask
from waitress import wasyncore
from waitress.server import create_server

from kiosk.catalog.bundle import BundleStore, trusted_keys
from kiosk.catalog.bundle_sync import BundleSync
from kiosk.catalog.loading import Catalog
from kiosk.settings import Settings, tls_load_problem
from kiosk.watchdog import ServingProbe, Watchdog, gateway_alive
from local_api.files import secure_folder
from local_api.link.breaker import CircuitBreaker
from local_api.link.client import PlatformClient, PlatformTLS
from local_api.ops.events import EventLog
from local_api.outbox.crypto import Sealer
from local_api.outbox.forwarder import Forwarder
from local_api.outbox.payments import PaymentLedger, PaymentWatcher
from local_api.outbox.store import Outbox
from local_api.sim.app import create_platform_app
from local_api.sim.state import Faults
from local_api.web.app import create_app
from local_api.web.credentials import TOKENS_FILE_NAME, TokenStore
from local_api.web.door import PROXY_HEADERS_CHECKED, write_door_secret
from local_api.web.fast_door import FastDoor
from local_api.web.services import GatewayServices

log = logging.getLogger(__name__)

OUTBOX_FILE_NAME = "outbox.db"
# waitress warns "Task queue depth is N" whenever a request waits for one of its threads: with group
# commit that is every burst (8 accepts share one fsync), about 100 lines a second under load, which
# cost the gateway its own time and buried real warnings (issue 25). Errors still pass.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)
_LOOP_TIMEOUT_S = 1.0  # close() pulls the trigger, so this only bounds a missed wake-up


# One platform serves a fleet: each gateway keeps up to four keep-alive connections to it (the forwarder,
# online calls, the proxy for the app, the catalog rollout), so waitress' default of 100 would turn the
# 26th terminal away (tests/ops/test_fleet.py runs 50 against one simulator).
PLATFORM_SIM_CONNECTIONS = 1000


class ServerHandle:
    """One waitress server bound at construction (port 0 → a free port, see ``url``)."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0, *, threads: int = 8,
                 name: str = "http", connection_limit: int = 100) -> None:
        self.name = name
        self.app = app
        # Proxy headers are dropped here unless the app decides about them itself (the gateway's
        # TrustedProxies: only gateway.trusted_proxies may send them); waitress trusts none.
        checked = bool(app.config.get(PROXY_HEADERS_CHECKED, False))
        self._server: Any = create_server(app, host=host, port=port, threads=threads,
                                          clear_untrusted_proxy_headers=not checked, ident=name,
                                          connection_limit=connection_limit)
        self.host = str(self._server.effective_host)
        self.port = int(self._server.effective_port)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()

    @property
    def url(self) -> str:
        """``http://host:port`` the server really listens on."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> ServerHandle:
        """Serve in a background thread owned by this handle."""
        self._thread = threading.Thread(target=self.serve, name=f"{self.name}-server", daemon=True)
        self._thread.start()
        return self

    def serve(self) -> None:
        """Serve in the calling thread until :meth:`close` (or :meth:`request_stop`)."""
        server = self._server
        try:
            while not self._stop.is_set():
                wasyncore.loop(timeout=_LOOP_TIMEOUT_S, map=server._map, use_poll=True, count=1)
        finally:
            # In the loop's own thread: wasyncore's map is not safe to touch from another.
            for channel in list(server._map.values()):
                try:
                    channel.close()
                except OSError:
                    pass
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
            self._done.set()

    def request_stop(self) -> None:
        """Ask the serving loop to stop; safe from a signal handler."""
        self._stop.set()
        try:
            self._server.pull_trigger()
        except (OSError, ValueError):
            pass  # already closed

    def close(self, timeout: float = 10.0) -> None:
        """Stop serving, close the listening socket and every connection; wait for the loop."""
        self.request_stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        elif self._thread is None and not self._done.is_set():
            # Never served: close the sockets here.
            for channel in list(self._server._map.values()):
                channel.close()
            self._done.set()


class TLSNotStarted(Exception):
    """The operators' TLS door could not start: the message names the file or the address."""


class HttpsScheme:
    """WSGI middleware for the TLS listener: every request is ``https`` (``request.is_secure``, hence
    ``Secure`` cookies), whatever an absolute-form request line says."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.url_scheme"] = "https"
        environ["HTTPS"] = "on"
        return self.app(environ, start_response)


class TLSServerHandle:
    """The operators' HTTPS door: one cheroot server with Python's TLS (``cheroot.ssl.builtin``), bound at
    construction; ``start()`` serves in a background thread, ``close()`` stops it. Same app as the
    plain door; the kiosk door refuses it anyway (never the app's loopback door)."""

    def __init__(self, app: Flask, cert: str, key: str, host: str, port: int = 0, *, threads: int = 8,
                 name: str = "gateway-tls") -> None:
        self.name = name
        cert_path, key_path = Path(cert).expanduser(), Path(key).expanduser()
        problem = tls_load_problem(cert_path, key_path)
        if problem:
            raise TLSNotStarted(f"the operators' TLS door cannot start: {problem}")
        # lazy: cheroot (and its TLS adapter) loads only in a gateway with TLS configured
        from cheroot.ssl.builtin import BuiltinSSLAdapter
        from cheroot.wsgi import Server

        self._server: Any = Server((host, port), HttpsScheme(app), numthreads=threads, server_name=name)
        self._server.ssl_adapter = BuiltinSSLAdapter(str(cert_path), str(key_path))
        self._server.error_log = self._error_log  # into the JSON log, not raw lines on stderr
        try:
            self._server.prepare()  # binds and listens; the worker threads start
        except OSError as exc:
            raise TLSNotStarted(f"the operators' TLS door cannot listen on {host}:{port} ({exc})") from exc
        bound = self._server.bind_addr
        self.host, self.port = str(bound[0]), int(bound[1])
        self._thread: threading.Thread | None = None

    def _error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        log.log(level, "%s: %s", self.name, msg, exc_info=traceback and level >= logging.ERROR)

    @property
    def url(self) -> str:
        """``https://host:port`` the server really listens on."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def start(self) -> TLSServerHandle:
        """Serve in a background thread owned by this handle."""
        self._thread = threading.Thread(target=self._server.serve, name=f"{self.name}-server", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Stop serving, close the listening socket and every connection; wait for the serving thread."""
        self._server.shutdown_timeout = min(timeout, 5.0)
        self._server.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)


@dataclass
class Gateway:
    """A built gateway: its services and app; :meth:`close` stops and closes them in order."""

    services: GatewayServices
    app: Flask
    catalog_sync: BundleSync | None = None
    """The catalog rollout (None without ``catalog.bundle_keys``)."""
    catalog_client: PlatformClient | None = None
    fast_door: FastDoor | None = None
    """The event-loop submission door (None with ``gateway.fast_door = false``)."""

    def close(self, *, wait_s: float | None = None) -> None:
        """Stop the forwarder (waiting up to ``wait_s`` for an attempt in flight), then close the rest."""
        if self.fast_door is not None:
            self.fast_door.close()
        if self.catalog_sync is not None:
            self.catalog_sync.stop()
        if self.catalog_client is not None:
            self.catalog_client.close()
        self.services.forwarder.stop(wait_s)
        if self.services.payment_watcher is not None:
            self.services.payment_watcher.stop()
            self.services.payment_watcher.client.close()
        if self.services.payments is not None:
            self.services.payments.close()
        self.services.forwarder.client.close()
        self.services.platform.close()
        self.services.online.close()
        self.services.outbox.close()


def platform_url(settings: Settings) -> str:
    """The platform URL, or the embedded simulator's when ``platform.url`` is empty."""
    return settings.platform.url or f"http://127.0.0.1:{settings.platform.sim_port}"


def catalog_item_codes(data_path: Path | None = None) -> frozenset[str] | None:
    """The packaged catalog's item codes (and the active signed bundle's, under ``data_path``), or None
    (not checked) when the catalog cannot be read."""
    codes = frozenset(catalog_item_names())
    if not codes:
        return None
    try:
        active = BundleStore.for_data_folder(data_path).active() if data_path is not None else None
        if active is not None:
            codes |= frozenset(item.code for item in Catalog.load(active.path).items)
    except Exception as exc:  # noqa: BLE001
        log.warning("the active catalog bundle is unreadable (%s): its new items are not accepted",
                    type(exc).__name__)
    return codes


@functools.cache
def catalog_item_names() -> dict[str, str]:
    """The packaged catalog's item names (简体) by code; empty when the catalog cannot be read."""
    # The kiosk app refuses to start on a broken catalog; the gateway still stores, whatever the catalog did.
    try:
        return {item.code: item.name.zh_CN for item in Catalog.load().items}
    except Exception as exc:  # noqa: BLE001
        log.warning("catalog unreadable (%s): submissions are not checked against item codes",
                    type(exc).__name__)
        return {}


def build_gateway(settings: Settings, *, base_delay_s: float = 1.0, idle_probe_s: float | None = 30.0,
                  platform_base_url: str | None = None,
                  item_codes: Iterable[str] | Literal["catalog"] | None = "catalog",
                  payment_check_s: float = 5.0) -> Gateway:
    """Open the outbox (integrity-checked), start the forwarder, build the app; write a new kiosk
    door secret (``settings.door_secret_path``, 0600) for the kiosk app.

    ``item_codes``: codes a submission may name; ``"catalog"`` reads the packaged catalog, None
    accepts any well-formed code. Creates the first operator token when none exists
    (``gateway.first_token_role``). Makes the data folder 0700 and its files 0600 (warning about each one
    that was looser, in the log and the operators' events). Raises ``OutboxCorrupt`` naming the file when the database
    is damaged, before anything starts.
    """
    data = settings.data_path
    # Data folder 0700, every file 0600 (issue 17): loosened ones are fixed before anything is opened, and
    # said; the files made from here on are created owner-only.
    loosened = secure_folder(data)
    for fixed in loosened:
        log.warning("data folder: %s", fixed)
    sealer = Sealer.from_data_folder(data, settings.security.suite)
    tokens = TokenStore(data / TOKENS_FILE_NAME)
    tokens.ensure_first(settings.gateway.first_token_role, data)
    # The console shows item names (read once, with the codes here); the active bundle adds its codes.
    codes = catalog_item_codes(data) if item_codes == "catalog" else (
        None if item_codes is None else frozenset(item_codes))
    outbox = Outbox(data / OUTBOX_FILE_NAME, sealer, kiosk_id=settings.kiosk.id)
    try:
        outbox.integrity_check()
    except BaseException:
        outbox.close()
        raise
    gw = settings.gateway
    events = EventLog()
    for fixed in loosened:
        events.add("file_mode_fixed", fixed)
    breaker = CircuitBreaker(gw.breaker_failures, gw.breaker_reset_s,
                             on_change=lambda kind, reason: events.add(kind, reason or kind.replace("_", " ")))
    url = platform_base_url or platform_url(settings)
    args = (url, settings.platform.secret, settings.kiosk.id)
    pf = settings.platform
    suite = settings.security.suite
    tls = PlatformTLS(pf.ca_bundle, pf.client_cert, pf.client_key)
    # The forwarder has its own client so a slow delivery never holds an online call's connection;
    # online calls get the short timeout: a resident is waiting.
    forwarder = Forwarder(outbox, PlatformClient(*args, pf.timeout_s, tls=tls, suite=suite), retry_max_s=gw.retry_max_s,
                          base_delay_s=base_delay_s, idle_probe_s=idle_probe_s, retention_s=gw.retention_s,
                          parked_retention_s=gw.parked_retention_s, expire_after_s=gw.expire_after_s,
                          breaker=breaker)
    # Fee items: submissions held until the payment platform says paid; the watcher asks about open
    # orders on its own client (late payments, an app killed between payment and submission).
    ledger = PaymentLedger(outbox, sealer, on_release=lambda _record: forwarder.wake())
    watcher = PaymentWatcher(ledger, PlatformClient(*args, settings.platform.proxy_timeout_s),
                             interval_s=payment_check_s, retention_s=gw.retention_s)
    services = GatewayServices(settings=settings, outbox=outbox, forwarder=forwarder,
                               platform=PlatformClient(*args, pf.timeout_s, tls=tls, suite=suite),
                               proxy=PlatformClient(*args, pf.proxy_timeout_s, tls=tls, suite=suite),
                               started_at=time.time(), tokens=tokens, item_codes=codes,
                               item_names=catalog_item_names, events=events,
                               door_secret=write_door_secret(settings.door_secret_path),
                               payments=ledger, payment_watcher=watcher)
    sync, sync_client = catalog_rollout(settings, services, PlatformClient(*args, pf.timeout_s, tls=tls, suite=suite))
    app = create_app(services)
    forwarder.start()
    watcher.start()
    if sync is not None:
        sync.start()
    gateway = Gateway(services, app, sync, sync_client)
    with contextlib.suppress(OSError):
        settings.fast_door_port_path.unlink(missing_ok=True)  # a crashed start's port is no longer ours
    if gw.fast_door:  # the kiosk app's submissions from an event loop, on their own loopback port (issue 25)
        try:
            gateway.fast_door = FastDoor(services, app.config["MAX_CONTENT_LENGTH"],
                                         port_file=settings.fast_door_port_path).start()
        except OSError as exc:
            log.error("kiosk submission door not started (%s): the kiosk app uses the Flask door's route", exc)
    return gateway


def catalog_rollout(settings: Settings, services: GatewayServices,
                    client: PlatformClient) -> tuple[BundleSync | None, PlatformClient | None]:
    """The signed catalog bundles' rollout for this gateway (kiosk/catalog/bundle_sync.py), not started;
    None (and the client closed) without ``catalog.bundle_keys``: no bundle could be trusted. Either way
    the status and metrics say which catalog version is served."""
    store = BundleStore.for_data_folder(settings.data_path)
    keys = trusted_keys(settings.catalog.bundle_keys)
    if not keys:
        client.close()
        services.catalog_state = lambda: {"version": store.version(), "last_error": "", "last_checked": None}
        return None, None

    def widen_codes(catalog: Catalog) -> None:
        # Items of the new catalog are accepted at once (the app may still show the old one until attract).
        if services.item_codes is not None:
            services.item_codes = services.item_codes | frozenset(item.code for item in catalog.items)

    sync = BundleSync(store, keys, plan=client.catalog_rollout, download=client.catalog_bundle,
                      report=client.report_catalog, interval_s=settings.catalog.poll_s, on_installed=widen_codes,
                      on_event=services.events.add)
    services.catalog_state = lambda: {"version": store.version(), "last_error": sync.last_error,
                                      "last_checked": sync.last_checked}
    return sync, client


class GatewayHandle:
    """A gateway serving in background threads: ``url`` (the plain door), ``tls_url`` (the operators'
    HTTPS door, or None), ``gateway`` (its services), ``close()``."""

    def __init__(self, gateway: Gateway, server: ServerHandle, tls: TLSServerHandle | None = None) -> None:
        self.gateway = gateway
        self.server = server
        self.tls = tls
        self.url = server.url
        self.tls_url = tls.url if tls is not None else None

    def close(self) -> None:
        """Stop serving, then stop the forwarder and close the outbox."""
        if self.tls is not None:
            self.tls.close()
        self.server.close()
        self.gateway.close()


def open_listeners(settings: Settings, app: Flask) -> tuple[ServerHandle, TLSServerHandle | None]:
    """The gateway's listeners, bound: without TLS, plain HTTP on ``gateway.host:port``; with TLS
    (``gateway.tls_cert`` and ``tls_key``), plain HTTP on ``127.0.0.1:port`` for the kiosk app and local
    tools, and HTTPS for operators on ``gateway.host:tls_port``. Raises :class:`TLSNotStarted` naming
    the bad file or address (nothing is left listening)."""
    gw = settings.gateway
    plain = ServerHandle(app, "127.0.0.1" if gw.tls else gw.host, gw.port, name="gateway")
    if not gw.tls:
        return plain, None
    try:
        return plain, TLSServerHandle(app, gw.tls_cert, gw.tls_key, gw.host, gw.tls_port)
    except BaseException:
        plain.close()
        raise


def start_gateway(settings: Settings, **build: Any) -> GatewayHandle:
    """Build and serve a gateway in background threads (``kiosk run``, the demo, tests).

    ``build`` goes to :func:`build_gateway` (e.g. ``base_delay_s``, ``idle_probe_s``).
    """
    gateway = build_gateway(settings, **build)
    try:
        server, tls = open_listeners(settings, gateway.app)
    except BaseException:
        gateway.close()
        raise
    return GatewayHandle(gateway, server.start(), tls.start() if tls is not None else None)


def start_platform_sim(host: str = "127.0.0.1", port: int = 0, secret: str = "",
                       *, faults: Faults | None = None, suite: str | None = None) -> ServerHandle:
    """Serve a platform simulator in a background thread; its app is ``handle.app`` (``suite``: see
    :func:`local_api.sim.app.create_platform_app`)."""
    if not secret:
        raise ValueError("the platform simulator needs the shared signing secret")
    return ServerHandle(create_platform_app(secret, faults=faults, suite=suite), host, port,
                        name="platform-sim", connection_limit=PLATFORM_SIM_CONNECTIONS).start()


@contextmanager
def _stop_on_sigterm(handle: ServerHandle) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals can only be handled in the main thread; the owner closes the handle
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s: signal %d, stopping", handle.name, signum)
        handle.request_stop()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve_gateway(settings: Settings, *, ready: Callable[[str], None] | None = None) -> None:
    """Run the gateway until SIGTERM or Ctrl-C; ``ready(url)`` once it listens."""
    gateway = build_gateway(settings)
    tls: TLSServerHandle | None = None
    try:
        handle, tls = open_listeners(settings, gateway.app)
        log.info("gateway for %s listening on %s, platform %s", settings.kiosk.id, handle.url,
                 platform_url(settings))
        if tls is not None:
            tls.start()
            log.info("gateway: operators' TLS door listening on %s (certificate %s); the plain door on %s "
                     "answers loopback only", tls.url, settings.gateway.tls_cert, handle.url)
        # Under systemd's watchdog, ping only after a real /health request was answered: waitress's
        # loop has no hook of its own, and a hung server must stop the pings.
        dog = Watchdog()
        probe = ServingProbe(dog, lambda: gateway_alive(handle.url, (dog.interval_s or 10) / 2))

        def ready_then_probe(url: str) -> None:
            if ready is not None:
                ready(url)
            if dog.enabled:
                probe.start()

        try:
            _serve_until_stopped(handle, ready_then_probe)
        finally:
            probe.stop()
            dog.close()
    finally:
        if tls is not None:
            tls.close()
        gateway.close()
        log.info("gateway stopped")


def serve_platform_sim(host: str, port: int, secret: str, *, faults: Faults | None = None,
                       ready: Callable[[str], None] | None = None, suite: str | None = None) -> None:
    """Run the platform simulator until SIGTERM or Ctrl-C; ``ready(url)`` once it listens.

    ``faults``: misbehaviour from the start (``kiosk platform-sim --error-rate …``); ``/admin/faults``
    changes it later.
    """
    handle = ServerHandle(create_platform_app(secret, faults=faults, suite=suite), host, port, name="platform-sim",
                          connection_limit=PLATFORM_SIM_CONNECTIONS)
    log.info("platform simulator listening on %s%s", handle.url,
             f" with faults {faults}" if faults is not None and faults != Faults() else "")
    _serve_until_stopped(handle, ready)


def _serve_until_stopped(handle: ServerHandle, ready: Callable[[str], None] | None) -> None:
    """Report the address, then serve in this thread until SIGTERM or Ctrl-C."""
    if ready is not None:
        ready(handle.url)
    with _stop_on_sigterm(handle):
        try:
            handle.serve()
        except KeyboardInterrupt:
            pass
