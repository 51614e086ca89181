"""R4 (bad input): hypothesis fuzzing of the settings loader, the catalog loader and the printer's
ESC/POS status parser.

Each loader has one documented way to fail — :class:`SettingsError` naming source and key,
:class:`CatalogError` naming file, item and field — and anything else escaping (a KeyError, a
TypeError from pydantic's guts, a UnicodeError) would crash ``kiosk run`` with a traceback instead
of a message a technician can act on. The status decoder may say "garbled" but must never raise
past :func:`read_status`. SAM frames, TLV and search are fuzzed elsewhere (test_id_fuzz.py,
test_ssc_data.py, test_search.py).
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.base import DeviceProtocolError
from devices.printer.escpos_stream import stream_to_text, tokenize
from devices.printer.health import PrinterHealth, decode_status, read_status
from kiosk.catalog.loading import Catalog, CatalogError
from kiosk.settings import SettingsError, default_text, load_settings

CATALOG_DIR = Path(__file__).resolve().parents[2] / "config" / "catalog"
FUZZED_FILE = "rs.toml"  # the department holding the demo item: its entries reach every model field

# -- values that look like what a technician might type, wrong in every way --

scalars = st.one_of(
    st.just(""), st.booleans(), st.integers(min_value=-2**63, max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["sim://id-reader", "tcp://:0", "usb://zz", "none", "0", "-1", "1e309", "zh_CN", "💥",
                     "/dev/null", "http://[::1", "pcsc://", "file:///nope"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)
_DEFAULTS: dict[str, Any] = tomllib.loads(default_text())
KNOWN_KEYS = [(section, key) for section, body in _DEFAULTS.items() if isinstance(body, dict) for key in body]


@st.composite
def settings_documents(draw: st.DrawFn) -> str:
    """A TOML document: known keys with wrong values, unknown keys, or plain garbage text."""
    shape = draw(st.sampled_from(["known", "unknown", "text"]))
    if shape == "text":
        return draw(st.text(max_size=200))
    doc: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 4))):
        if shape == "known":
            section, key = draw(st.sampled_from(KNOWN_KEYS))
        else:
            section, key = draw(st.text(min_size=1, max_size=8)), draw(st.text(min_size=1, max_size=8))
        doc.setdefault(section, {})[key] = draw(values)
    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError):  # NaN keys and the like that TOML cannot write: send raw text
        return repr(doc)
    if draw(st.booleans()):  # also cut it short somewhere, as an editor crash would
        text = text[:draw(st.integers(0, len(text)))]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=settings_documents())
def test_settings_loader_fails_only_with_settings_error(tmp_path: Path, text: str):
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_settings(path, environ={})
    except SettingsError as exc:
        assert exc.problems, "a SettingsError must list at least one problem"
        for problem in exc.problems:  # each names where: the file (or the environment) and the key
            assert str(problem).strip()
            assert problem.source


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=120))
def test_settings_loader_survives_undecodable_bytes(tmp_path: Path, raw: bytes):
    path = tmp_path / "kiosk.toml"
    path.write_bytes(raw)
    try:
        load_settings(path, environ={})
    except SettingsError as exc:
        assert exc.problems


# -- the catalog: mutated copies of one department file in a copy of the packaged folder --

@pytest.fixture(scope="module")
def catalog_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalog") / "catalog"
    shutil.copytree(CATALOG_DIR, folder)
    return folder


_ORIGINAL = (CATALOG_DIR / FUZZED_FILE).read_text(encoding="utf-8")
_PARSED: dict[str, Any] = tomllib.loads(_ORIGINAL)
_ITEM_KEYS = sorted({k for item in _PARSED["items"] for k in item})


@st.composite
def structural_mutation(draw: st.DrawFn) -> str:
    """The department file with some items' fields deleted, retyped or replaced by junk."""
    doc = tomllib.loads(_ORIGINAL)
    items = doc["items"]
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["set", "delete", "add", "duplicate", "dept"]))
        item = items[draw(st.integers(0, len(items) - 1))]
        if action == "set":
            item[draw(st.sampled_from(_ITEM_KEYS))] = draw(values)
        elif action == "delete" and item:
            item.pop(draw(st.sampled_from(sorted(item))), None)
        elif action == "add":
            item[draw(st.text(min_size=1, max_size=8))] = draw(values)
        elif action == "duplicate":
            items.append(dict(item))
        else:
            doc["department"][draw(st.sampled_from(["code", "name", "full_name", "extra"]))] = draw(values)
    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError):
        return repr(doc)


@st.composite
def textual_mutation(draw: st.DrawFn) -> str:
    """The department file's text with a slice cut out or junk spliced in (a bad edit or a bad copy)."""
    text = _ORIGINAL
    start = draw(st.integers(0, len(text)))
    end = min(len(text), start + draw(st.integers(0, 200)))
    return text[:start] + draw(st.text(max_size=40)) + text[end:]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(structural_mutation(), textual_mutation()))
def test_catalog_loader_fails_only_with_catalog_error(catalog_copy: Path, text: str):
    target = catalog_copy / FUZZED_FILE
    target.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        Catalog.load(catalog_copy)
    except CatalogError as exc:
        assert exc.problems
        # Every problem says where it is: at least the file (the packaged folder's name for it).
        assert all(p.file or p.code for p in exc.problems), [str(p) for p in exc.problems[:5]]
    finally:
        target.write_text(_ORIGINAL, encoding="utf-8")


def test_catalog_fuzz_baseline_loads(catalog_copy: Path):
    """The unmutated copy loads, so a CatalogError above comes from the mutation, not the setup."""
    assert Catalog.load(catalog_copy).get("rs-sbjfzm") is not None


# -- the printer's DLE EOT status --

class _ReplayLink:
    """A byte source standing in for the wire: answers each status query from a fuzzed script."""

    def __init__(self, script: list[int | None]) -> None:
        self.script = list(script)

    def write(self, data: bytes) -> None:
        pass

    def read_byte(self, timeout: float) -> int | None:
        return self.script.pop(0) if self.script else None

    def drain(self) -> None:
        pass


status_bytes = st.one_of(st.none(), st.integers(0, 255))


@settings(max_examples=400, deadline=None)
@given(replies=st.dictionaries(st.integers(-2, 6), status_bytes, max_size=6))
def test_status_decoder_raises_only_protocol_error_naming_the_byte(replies: dict[int, int | None]):
    try:
        health = decode_status(replies)
    except DeviceProtocolError as exc:
        assert "0x" in str(exc)  # names the offending byte
        return
    assert isinstance(health.summary(), str)
    if not health.responding:
        assert not health.ready  # silence never reads as "paper adequate"


@settings(max_examples=400, deadline=None)
@given(script=st.lists(status_bytes, max_size=10))
def test_status_reader_never_raises_on_any_bytes(script: list[int | None]):
    health = read_status(_ReplayLink(script), 0.01)
    assert isinstance(health, PrinterHealth)
    assert isinstance(health.summary(), str) and health.state is not None
    if health.garbled:
        assert not health.ready and health.reason


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_escpos_stream_parser_never_raises(data: bytes):
    tokens = tokenize(data)
    assert b"".join(t.raw for t in tokens) == data  # every byte accounted for, none invented
    assert isinstance(stream_to_text(data), str)
