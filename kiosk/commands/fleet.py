"""``kiosk fleet …``: the fleet's inventory (``deploy/fleet/fleet.yml``) and what monitoring needs from it.

    kiosk fleet check   [--inventory FILE] [--tokens DIR]      # validate; exit 2 naming every problem
    kiosk fleet targets [--inventory FILE] --out DIR [...]     # Prometheus config, file_sd targets, Grafana variables

One YAML file lists every terminal: its id (``kiosk.id`` on the terminal), station, district, VPN address
and hardware. From it ``kiosk fleet targets`` writes, into ``--out``:

- ``targets/<id>.json``: a Prometheus ``file_sd`` file per terminal, its address with the labels
  ``kiosk_id``, ``station`` and ``district`` — every series scraped from it carries them, ``up`` too,
  so alerts name the terminal and its station, never an address;
- ``prometheus.yml``: global settings, the rule files, the Alertmanager, and **one scrape job per
  terminal** (``kiosk/<id>``), each with its own ``credentials_file`` (``<tokens>/<id>.token``: that
  terminal's operator token). Prometheus takes one ``credentials_file`` per job, so a token per terminal
  needs a job per terminal; the jobs' ``job`` label is rewritten to ``kiosk`` so the rules see one job.
  Why not one job and a proxy holding the tokens: the proxy would be one more service to run, secure and
  keep up, and a single point where every token sits; the cost of per-terminal jobs is a configuration
  reload when a terminal is added (an address change needs none: file_sd re-reads the target file) and a
  little memory per job (``bench/bench_fleet.py`` measures it);
- ``grafana-variables.json``: the dashboard's ``district``, ``station`` and ``kiosk_id`` variables
  with every value from the inventory (a terminal that never answered is still offered); with
  ``--dashboard deploy/grafana/kiosk-fleet.json`` also ``kiosk-fleet.json``, that dashboard with them.

``check`` validates with pydantic: ids as ``kiosk.id`` allows, unique ids and addresses, known hardware
names; with ``--tokens DIR`` it also says which terminals have no token file yet.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

EXIT_OK, EXIT_PROBLEMS = 0, 2
DEFAULT_INVENTORY = "deploy/fleet/fleet.yml"
DEFAULT_PORT = 8470
JOB = "kiosk"
DeviceKind = Literal["id_reader", "printer", "ssc_reader", "camera", "document_camera", "qr_camera"]


class Hardware(BaseModel):
    """What is installed in the terminal (for the engineer who visits; not used for scraping)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str = ""
    devices: list[DeviceKind] = Field(default_factory=list)
    serial: str = ""


class TerminalEntry(BaseModel):
    """One terminal of the fleet."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    """The terminal's ``kiosk.id``."""
    station: str = Field(min_length=1, max_length=80)
    district: str = Field(min_length=1, max_length=40)
    address: str = Field(min_length=1)
    """Its VPN address (IP or host name) where Prometheus reaches the gateway."""
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    scheme: Literal["http", "https"] = "http"
    hardware: Hardware = Field(default_factory=Hardware)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            labels = value.split(".")
            if not all(part and len(part) <= 63 and part.replace("-", "").isalnum() for part in labels):
                raise ValueError("must be an IP address or a host name") from None
        return value

    @property
    def target(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


class Inventory(BaseModel):
    """``deploy/fleet/fleet.yml``: every terminal, ids and addresses unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    fleet: str = Field(default="kiosk-fleet", min_length=1)
    terminals: list[TerminalEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Inventory:
        for what, keys in (("id", [t.id for t in self.terminals]),
                           ("address:port", [t.target for t in self.terminals])):
            twice = sorted(k for k, n in Counter(keys).items() if n > 1)
            if twice:
                raise ValueError(f"{what} used by more than one terminal: {', '.join(twice)}")
        return self


class InventoryError(Exception):
    """The inventory cannot be used; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_inventory(path: Path) -> Inventory:
    """Read and validate an inventory file; :class:`InventoryError` names every problem."""
    # lazy: YAML only for this command (start-up: see kiosk/commands)
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InventoryError([f"{path}: cannot read: {exc.strerror}"]) from exc
    except yaml.YAMLError as exc:
        raise InventoryError([f"{path}: not valid YAML: {exc}"]) from exc
    try:
        return Inventory.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            if err["loc"][:1] == ("terminals",) and len(err["loc"]) > 1 and isinstance(raw, dict):
                try:
                    where += f" ({raw['terminals'][err['loc'][1]].get('id', '?')})"
                except (KeyError, IndexError, TypeError, AttributeError):
                    pass
            problems.append(f"{path}: {where or 'file'}: {err['msg']}")
        raise InventoryError(problems) from exc


def file_sd(entry: TerminalEntry) -> list[dict[str, Any]]:
    """The terminal's ``file_sd`` document."""
    return [{"targets": [entry.target],
             "labels": {"kiosk_id": entry.id, "station": entry.station, "district": entry.district}}]


def scrape_jobs(inventory: Inventory, *, targets_dir: str, tokens_dir: str, interval: str | None = None,
                timeout: str | None = None, ca_file: str | None = None) -> list[dict[str, Any]]:
    """One scrape job per terminal (its own token), all labelled ``job="kiosk"``; ``ca_file`` checks the
    certificates of the terminals scraped over HTTPS (``gateway.tls_cert``)."""
    jobs = []
    for t in inventory.terminals:
        job: dict[str, Any] = {
            "job_name": f"{JOB}/{t.id}", "metrics_path": "/metrics", "scheme": t.scheme,
            "authorization": {"type": "Bearer", "credentials_file": f"{tokens_dir}/{t.id}.token"},
            "file_sd_configs": [{"files": [f"{targets_dir}/{t.id}.json"]}],
            "relabel_configs": [{"target_label": "job", "replacement": JOB}],
        }
        if t.scheme == "https" and ca_file:
            job["tls_config"] = {"ca_file": ca_file}
        if interval:
            job["scrape_interval"] = interval
        if timeout:
            job["scrape_timeout"] = timeout
        jobs.append(job)
    return jobs


def grafana_variables(inventory: Inventory) -> list[dict[str, Any]]:
    """Grafana ``templating.list`` entries: custom variables from the inventory (multi, with All)."""
    def variable(name: str, label: str, values: Iterable[str]) -> dict[str, Any]:
        values = sorted(set(values))
        return {"name": name, "label": label, "type": "custom", "multi": True, "includeAll": True,
                "allValue": ".*", "current": {"text": "All", "value": "$__all"},
                "query": ",".join(v.replace(",", "\\,") for v in values),
                "options": [{"text": v, "value": v, "selected": False} for v in values]}

    return [variable("district", "District 区", (t.district for t in inventory.terminals)),
            variable("station", "Station 服务站", (t.station for t in inventory.terminals)),
            variable("kiosk_id", "Terminal 终端", (t.id for t in inventory.terminals))]


def prometheus_config(inventory: Inventory, *, targets_dir: str, tokens_dir: str, rules: list[str],
                      alertmanagers: list[str], scrape_interval: str = "30s", evaluation_interval: str = "30s",
                      scrape_timeout: str = "10s", ca_file: str | None = None) -> dict[str, Any]:
    """A whole ``prometheus.yml`` for the fleet."""
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval,
                   "scrape_timeout": scrape_timeout, "external_labels": {"fleet": inventory.fleet}},
        "rule_files": rules,
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}]},
        "scrape_configs": scrape_jobs(inventory, targets_dir=targets_dir, tokens_dir=tokens_dir, ca_file=ca_file),
    }


HEADER = """# Generated by `kiosk fleet targets` from {source}: do not edit, edit the inventory and run it again.
# One scrape job per terminal, each with that terminal's own operator token (<tokens>/<id>.token);
# the `job` label is rewritten to "kiosk" for the rules. Check it with `promtool check config` here.
"""


def dashboard_with_variables(dashboard: dict[str, Any], inventory: Inventory) -> dict[str, Any]:
    """The dashboard with its ``district``, ``station`` and ``kiosk_id`` variables from the inventory."""
    ours = {v["name"]: v for v in grafana_variables(inventory)}
    listing = dashboard.get("templating", {}).get("list", [])
    merged = [ours.pop(v.get("name"), v) for v in listing] + list(ours.values())
    return {**dashboard, "templating": {**dashboard.get("templating", {}), "list": merged}}


def write_outputs(inventory: Inventory, out: Path, *, source: str, targets_dir: str = "targets",
                  tokens_dir: str = "tokens", rules: list[str] | None = None,
                  alertmanagers: list[str] | None = None, dashboard: Path | None = None,
                  ca_file: str | None = None, **intervals: str) -> list[Path]:
    """Write ``prometheus.yml``, ``targets/<id>.json`` (under ``out``), ``grafana-variables.json`` and, given
    the shipped ``dashboard``, ``kiosk-fleet.json`` with the inventory's variables."""
    # lazy: YAML only for this command (start-up: see kiosk/commands)
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    targets = out / "targets"
    targets.mkdir(exist_ok=True)
    written = []
    wanted = {f"{t.id}.json" for t in inventory.terminals}
    for stale in targets.glob("*.json"):  # a terminal taken out of the inventory stops being scraped
        if stale.name not in wanted:
            stale.unlink()
    for t in inventory.terminals:
        path = targets / f"{t.id}.json"
        path.write_text(json.dumps(file_sd(t), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    config = prometheus_config(inventory, targets_dir=targets_dir, tokens_dir=tokens_dir,
                               rules=rules if rules is not None else ["kiosk-alerts.yml"],
                               alertmanagers=alertmanagers or ["localhost:9093"], ca_file=ca_file, **intervals)
    path = out / "prometheus.yml"
    path.write_text(HEADER.format(source=source) + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    written.append(path)
    path = out / "grafana-variables.json"
    path.write_text(json.dumps({"templating": {"list": grafana_variables(inventory)}}, ensure_ascii=False,
                               indent=1) + "\n", encoding="utf-8")
    written.append(path)
    if dashboard is not None:
        board = dashboard_with_variables(json.loads(dashboard.read_text(encoding="utf-8")), inventory)
        path = out / "kiosk-fleet.json"
        path.write_text(json.dumps(board, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("fleet", help="the fleet's inventory: check it, generate monitoring from it",
                                   description="The fleet's inventory (deploy/fleet/fleet.yml): validate it and "
                                   "generate Prometheus targets, scrape jobs and Grafana variables from it.")
    sub = parser.add_subparsers(dest="fleet_command", required=True)
    check = sub.add_parser("check", help="validate the inventory: exit 2 naming every problem")
    check.add_argument("--inventory", default=DEFAULT_INVENTORY, metavar="FILE")
    check.add_argument("--tokens", metavar="DIR", help="also report terminals without a <id>.token file here")
    check.set_defaults(func=_check)
    targets = sub.add_parser("targets", help="write prometheus.yml, targets/<id>.json and grafana-variables.json")
    targets.add_argument("--inventory", default=DEFAULT_INVENTORY, metavar="FILE")
    targets.add_argument("--out", required=True, metavar="DIR", help="e.g. /etc/prometheus/kiosk")
    targets.add_argument("--tokens", default="tokens", metavar="DIR",
                         help="where Prometheus finds <id>.token (relative: to prometheus.yml; default tokens)")
    targets.add_argument("--rules", action="append", metavar="FILE",
                         help="alert rule file for prometheus.yml (repeatable; default kiosk-alerts.yml)")
    targets.add_argument("--alertmanager", action="append", metavar="HOST:PORT",
                         help="Alertmanager address (repeatable; default localhost:9093)")
    targets.add_argument("--dashboard", metavar="FILE", help="also write kiosk-fleet.json: this Grafana dashboard "
                         "(deploy/grafana/kiosk-fleet.json) with the inventory's district, station and terminal "
                         "variables")
    targets.add_argument("--ca-file", metavar="FILE", help="CA certificate Prometheus checks the terminals' "
                         "HTTPS doors with (terminals with scheme https in the inventory)")
    targets.add_argument("--scrape-interval", default="30s")
    targets.add_argument("--evaluation-interval", default="30s")
    targets.add_argument("--scrape-timeout", default="10s")
    targets.set_defaults(func=_targets)


def _load(path: str) -> Inventory | None:
    try:
        return load_inventory(Path(path))
    except InventoryError as exc:
        print(f"kiosk fleet: {path} has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    inventory = _load(args.inventory)
    if inventory is None:
        return EXIT_PROBLEMS
    stations = {t.station for t in inventory.terminals}
    districts = {t.district for t in inventory.terminals}
    print(f"{args.inventory}: {len(inventory.terminals)} terminal(s) at {len(stations)} station(s) in "
          f"{len(districts)} district(s): OK")
    if args.tokens:
        missing = [t.id for t in inventory.terminals if not (Path(args.tokens) / f"{t.id}.token").is_file()]
        if missing:
            print(f"kiosk fleet: no token file in {args.tokens} for {len(missing)} terminal(s): "
                  f"{', '.join(missing[:20])}{' …' if len(missing) > 20 else ''} (POST /api/v1/tokens on each, "
                  "role operator, and save the answer's token as <id>.token)", file=sys.stderr)
            return EXIT_PROBLEMS
    return EXIT_OK


def _targets(args: argparse.Namespace) -> int:
    inventory = _load(args.inventory)
    if inventory is None:
        return EXIT_PROBLEMS
    written = write_outputs(inventory, Path(args.out), source=args.inventory, tokens_dir=args.tokens,
                            rules=args.rules, alertmanagers=args.alertmanager,
                            dashboard=Path(args.dashboard) if args.dashboard else None, ca_file=args.ca_file,
                            scrape_interval=args.scrape_interval, evaluation_interval=args.evaluation_interval,
                            scrape_timeout=args.scrape_timeout)
    print(f"wrote {len(written)} file(s) to {args.out} for {len(inventory.terminals)} terminal(s); reload "
          "Prometheus (SIGHUP or POST /-/reload) when terminals were added or removed")
    return EXIT_OK
