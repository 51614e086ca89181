"""What the platform simulator answers with: documents, query answers, slots and progress.

Answers are generated from the catalog item's kind and department, so every item the kiosk
offers gets a plausible answer, and are stable per person (same figures on every request,
different between people) without storing anything: they derive from a hash of the ID number.
The four print documents of the first catalog keep their own exact layouts.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from kiosk.catalog.loading import Catalog
from kiosk.crypto import SigningKey, sha256_hex
from kiosk.privacy import mask_id_number, mask_name
from kiosk.qrcodes import public_key_b64, signin_payload

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand
REGION = "厦门市海沧区"
KINDS = ("guide", "query", "print", "apply", "appointment", "certification")


@dataclass(frozen=True)
class ItemInfo:
    """What the simulator needs of a catalog item (the catalog's model may grow; this does not)."""

    code: str
    kind: str
    department: str
    title: str


def item_info(item: Any) -> ItemInfo:
    """Read an item of ``kiosk.catalog`` defensively: its name may be localized text or a string."""
    name = getattr(item, "name", "")
    title = getattr(name, "zh_CN", None) or (name if isinstance(name, str) else "") or item.code
    return ItemInfo(code=str(item.code), kind=str(getattr(item, "kind", "")),
                    department=str(getattr(item, "department", "") or ""), title=str(title))


SAMPLE_ITEMS = {info.code: info for info in (
    ItemInfo("rs-sbjfzm", "print", "人社", "社保参保缴费证明打印"),
    ItemInfo("rs-qyjl", "print", "人社", "养老保险个人权益记录单打印"),
    ItemInfo("yb-cbpz", "print", "医保", "医保参保凭证打印"),
    ItemInfo("gjj-jczm", "print", "公积金", "公积金缴存证明打印"),
    ItemInfo("yb-zhye", "query", "医保", "医保个人账户余额查询"),
    ItemInfo("gjj-jcmx", "query", "公积金", "公积金缴存明细查询"),
    ItemInfo("rs-sydj", "apply", "人社", "失业登记"),
    ItemInfo("mz-hydjyy", "appointment", "民政", "婚姻登记预约"),
    ItemInfo("rs-ylzgrz", "certification", "人社", "退休人员养老金资格认证"),
)}
"""Served when the packaged catalog cannot be read, so the simulator always answers something."""


def load_catalog_items() -> dict[str, ItemInfo]:
    """The packaged catalog's items by code; :data:`SAMPLE_ITEMS` when the catalog cannot be read."""
    try:
        items = {info.code: info for info in map(item_info, Catalog.load().items)}
    except Exception:  # noqa: BLE001 - a broken or half-edited catalog must not take the simulator down
        return dict(SAMPLE_ITEMS)
    return items or dict(SAMPLE_ITEMS)


def person_seed(applicant: dict[str, Any]) -> int:
    """A stable number per person (from the ID number), for figures that must not change."""
    return int(sha256_hex(str(applicant["id_number"]).encode())[:8], 16)


def verification_code(rng: random.Random) -> str:
    """An 8-character code printed on a document for checking it later."""
    return "".join(rng.choice(CODE_ALPHABET) for _ in range(8))


def _identity_rows(applicant: dict[str, Any]) -> list[list[str]]:
    return [["姓名", mask_name(applicant["name"])], ["公民身份号码", mask_id_number(applicant["id_number"])]]


# -- documents (print items) --------------------------------------------------------------------

DocumentMaker = Callable[[dict[str, Any], int, random.Random], dict[str, Any]]


def _social_insurance_proof(applicant: dict[str, Any], serial: int, rng: random.Random) -> dict[str, Any]:
    seed = person_seed(applicant)
    pension = 24 + seed % 220
    insurances = [
        {"type": "企业职工基本养老保险", "status": "正常参保", "months": pension},
        {"type": "失业保险", "status": "正常参保", "months": max(12, pension - seed % 37)},
        {"type": "工伤保险", "status": "正常参保", "months": max(6, pension - seed % 61)},
    ]
    issued = datetime.now().astimezone()
    rows = _identity_rows(applicant) + [["参保地", REGION]]
    rows += [[str(i["type"]), f"{i['status']} {i['months']}个月"] for i in insurances]
    rows += [["打印时间", f"{issued:%Y-%m-%d %H:%M}"]]
    return {
        "item_code": "rs-sbjfzm", "title": "社会保险参保缴费证明", "doc_no": f"XMSB{issued:%Y%m%d}{serial:06d}",
        "verification_code": verification_code(rng), "issuer": "厦门市社会保险管理中心（模拟）",
        "issued_at": issued.isoformat(timespec="seconds"), "insurances": insurances, "rows": rows,
        "note": "本证明反映打印时点的参保缴费情况，可凭验证码向社会保险经办机构核验。",
    }


def _simple_document(item_code: str, title: str, issuer: str, prefix: str,
                     rows: Callable[[int], list[list[str]]], note: str) -> DocumentMaker:
    """A one-page certificate whose figures are stable per person."""

    def make(applicant: dict[str, Any], serial: int, rng: random.Random) -> dict[str, Any]:
        issued = datetime.now().astimezone()
        body = _identity_rows(applicant) + rows(person_seed(applicant))
        body += [["打印时间", f"{issued:%Y-%m-%d %H:%M}"]]
        return {"item_code": item_code, "title": title, "doc_no": f"{prefix}{issued:%Y%m%d}{serial:06d}",
                "verification_code": verification_code(rng), "issuer": issuer,
                "issued_at": issued.isoformat(timespec="seconds"), "rows": body, "note": note}

    return make


DOCUMENTS: dict[str, DocumentMaker] = {
    "rs-sbjfzm": _social_insurance_proof,
    "rs-qyjl": _simple_document(
        "rs-qyjl", "养老保险个人权益记录单", "厦门市社会保险管理中心（模拟）", "XMQY",
        lambda seed: [["参保地", REGION], ["上年度缴费月数", f"{6 + seed % 7} 个月"],
                      ["个人账户累计储存额", f"{20000 + seed % 90000:,} 元"]],
        "本记录单仅供参保人核对个人权益，可凭验证码核验。"),
    "yb-cbpz": _simple_document(
        "yb-cbpz", "基本医疗保险参保凭证", "厦门市医疗保障局（模拟）", "XMYB",
        lambda seed: [["险种", "职工基本医疗保险"], ["参保状态", "正常参保"],
                      ["本地累计缴费", f"{12 + seed % 200} 个月"]],
        "本凭证反映打印时点的参保情况，可凭验证码向医保经办机构核验。"),
    "gjj-jczm": _simple_document(
        "gjj-jczm", "住房公积金缴存证明", "厦门市住房公积金中心（模拟）", "XMGJ",
        lambda seed: [["缴存状态", "正常缴存"], ["月缴存额", f"{400 + seed % 3000} 元"],
                      ["连续缴存", f"{6 + seed % 120} 个月"]],
        "本证明可凭验证码在住房公积金中心网站核验。"),
}

_ISSUERS = {"人社": "厦门市人力资源和社会保障局", "医保": "厦门市医疗保障局", "公积金": "厦门市住房公积金中心",
            "公安": "厦门市公安局海沧分局", "交通": "厦门市交通运输局", "民政": "海沧区民政局",
            "税务": "国家税务总局厦门市海沧区税务局", "不动产": "厦门市不动产登记中心"}


def _department_rows(department: str, seed: int) -> list[list[str]]:
    """Figures a department would plausibly report for a person."""
    if department == "医保":
        return [["险种", "职工基本医疗保险"], ["参保状态", "正常参保"],
                ["个人账户余额", f"{(seed % 900000) / 100 + 120:,.2f} 元"], ["本年度统筹已支付", f"{seed % 5000} 元"]]
    if department == "公积金":
        return [["缴存状态", "正常缴存"], ["账户余额", f"{(seed % 9000000) / 100 + 3000:,.2f} 元"],
                ["月缴存额", f"{400 + seed % 3000} 元"], ["缴至年月", f"{date.today():%Y-%m}"]]
    if department == "人社":
        return [["参保地", REGION], ["养老保险累计缴费", f"{24 + seed % 220} 个月"],
                ["个人账户累计储存额", f"{20000 + seed % 90000:,} 元"], ["参保状态", "正常参保"]]
    if department == "公安":
        return [["户籍所在地", REGION], ["居住证状态", "有效"],
                ["有效期至", f"{date.today().year + 1 + seed % 2}-{1 + seed % 12:02d}-{1 + seed % 28:02d}"]]
    if department == "交通":
        return [["名下车辆", f"{seed % 3} 辆"], ["未处理违法记录", f"{seed % 2} 条"], ["累计记分", f"{seed % 4} 分"]]
    return [["办理区域", REGION], ["状态", "正常"], ["记录条数", f"{1 + seed % 9} 条"]]


def generic_document(info: ItemInfo) -> DocumentMaker:
    """A certificate for a print item the simulator has no exact layout for."""
    issuer = _ISSUERS.get(info.department, "厦门市海沧区行政服务中心") + "（模拟）"
    title = info.title.removesuffix("打印")
    return _simple_document(info.code, title, issuer, "XMZM", lambda seed: [["出具事项", title]]
                            + _department_rows(info.department, seed), "本证明可凭验证码向出具机构核验。")


def document_maker(code: str, items: dict[str, ItemInfo]) -> DocumentMaker | None:
    """How to issue the document of ``code``: exact layouts first, then any catalog print item."""
    if code in DOCUMENTS:
        return DOCUMENTS[code]
    info = items.get(code)
    if info is not None and info.kind == "print":
        return generic_document(info)
    return None


def query_answer(info: ItemInfo, applicant: dict[str, Any], serial: int) -> dict[str, Any]:
    """The answer of a query item: identity masked, figures stable per person."""
    seed = person_seed(applicant)
    now = datetime.now().astimezone()
    return {"item_code": info.code, "title": info.title.removesuffix("查询") + "查询结果",
            "query_no": f"XMCX{now:%Y%m%d}{serial:06d}",
            "source": _ISSUERS.get(info.department, "厦门市海沧区行政服务中心") + "（模拟）",
            "as_of": now.isoformat(timespec="seconds"),
            "rows": _identity_rows(applicant) + _department_rows(info.department, seed),
            "printable": True}


# -- appointments ------------------------------------------------------------------------------

SLOT_TIMES = ("09:00", "09:30", "10:00", "10:30", "11:00", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30")
WORKDAYS_SHOWN = 5


def slot_capacity(slot_id: str) -> int:
    """How many residents a slot takes (0..3), the same every time it is asked."""
    return int(sha256_hex(slot_id.encode())[:2], 16) % 4


# The platform's calendar: public holidays (closed although a weekday) and the weekend days worked in
# their place (调休, open although a weekend), after the State Council's 2026 holiday notice.
HOLIDAYS = frozenset(date.fromisoformat(d) for d in (
    "2026-01-01", "2026-01-02", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
    "2026-02-23", "2026-04-06", "2026-05-01", "2026-05-04", "2026-05-05", "2026-06-19", "2026-09-25",
    "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07",
    "2027-01-01"))
WORKED_WEEKENDS = frozenset(date.fromisoformat(d) for d in (
    "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"))


def is_open(day: date) -> bool:
    """Whether the platform's offices receive appointments on ``day``."""
    return day in WORKED_WEEKENDS or (day.weekday() < 5 and day not in HOLIDAYS)


def slots(item_code: str, start: date, booked: dict[str, int], now: datetime | None = None) -> list[dict[str, Any]]:
    """Slots of the next open days from ``start`` with what is left of each; none that has begun by
    ``now`` (local time) and none on a closed day."""
    now = now or datetime.now()
    out: list[dict[str, Any]] = []
    day = start
    while len({s["date"] for s in out}) < WORKDAYS_SHOWN:
        if is_open(day):
            for hhmm in SLOT_TIMES:
                if datetime.fromisoformat(f"{day.isoformat()}T{hhmm}") <= now:
                    continue
                slot_id = f"{item_code}@{day.isoformat()}T{hhmm}"
                capacity = slot_capacity(slot_id)
                out.append({"slot_id": slot_id, "date": day.isoformat(), "time": hhmm, "capacity": capacity,
                            "available": max(0, capacity - booked.get(slot_id, 0))})
        day += timedelta(days=1)
    return out


def parse_slot_id(slot_id: str, item_code: str) -> datetime | None:
    """The start of a slot id made by :func:`slots` for ``item_code``; None if it is not one."""
    code, _, when = slot_id.partition("@")
    if code != item_code or when[-5:] not in SLOT_TIMES:
        return None
    try:
        start = datetime.fromisoformat(when)
    except ValueError:
        return None
    return start if is_open(start.date()) else None


# -- progress ----------------------------------------------------------------------------------

STAGES = (("received", "已接收"), ("accepted", "已受理"), ("in_review", "审核中"), ("completed", "已办结"))
# Seconds after receipt at which each stage is reached: compressed so a demo sees movement.
STAGE_AFTER_S = (0, 60, 3600, 86400)


def progress(kind: str, received_at: datetime, now: datetime | None = None) -> dict[str, Any]:
    """办件进度 by the time since receipt; print requests are 即办 (done at once)."""
    now = now or datetime.now().astimezone()
    elapsed = (now - received_at).total_seconds()
    reached = len(STAGES) if kind == "print_request" else sum(1 for s in STAGE_AFTER_S if elapsed >= s)
    steps = []
    for (status, text), after in list(zip(STAGES, STAGE_AFTER_S))[:reached]:
        at = received_at if kind == "print_request" else received_at + timedelta(seconds=after)
        steps.append({"status": status, "text": text, "at": at.isoformat(timespec="seconds")})
    return {"status": steps[-1]["status"], "status_text": steps[-1]["text"], "steps": steps}


# -- app sign-in codes -------------------------------------------------------------------------

SIGNIN_LIFETIME_S = 120  # what the government app shows by default
SIGNIN_MAX_LIFETIME_S = 600  # the kiosk refuses longer-lived codes (kiosk/qrcodes.py)
SIGNIN_KEEP_S = 3600  # how long a used or expired token is remembered, to answer "used" rather than "unknown"
SIGNIN_MAX_TOKENS = 10_000  # a bound on memory whatever a test script asks for


class SignInCodes:
    """The platform's side of 扫码登录: it issues one-time codes signed with its key (Ed25519; SM2 under
    the sm suite), as the government app shows them, and redeems each once, for a TEST person (never a real one).

    Thread-safe. Tokens are credentials: nothing here logs them, and the listing counts only."""

    def __init__(self, clock: Callable[[], float] | None = None, suite: str = "intl") -> None:
        self._key = SigningKey.generate(suite)  # Ed25519, or SM2 (with SM3) under the sm suite
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[int, bool]] = {}  # token → (expires_at, redeemed)

    @property
    def public_key(self) -> str:
        """The key kiosks verify codes with: base64 of its raw bytes (32 for Ed25519, 65 for SM2)."""
        return public_key_b64(self._key.public)

    @property
    def algorithm(self) -> str:
        """``Ed25519`` or ``SM2``."""
        return self._key.algorithm

    def issue(self, expires_in_s: float = SIGNIN_LIFETIME_S) -> tuple[str, int]:
        """A fresh signed code and its expiry (Unix seconds); ``expires_in_s`` ≤ 0 gives an expired one."""
        now = self._clock()
        token = secrets.token_urlsafe(24)
        expires_at = int(now + expires_in_s)
        with self._lock:
            self._forget_old(now)
            self._tokens[token] = (expires_at, False)
        return signin_payload(token, expires_at, self._key), expires_at

    def redeem(self, token: str) -> str | dict[str, str]:
        """The person behind ``token``, once; else why not: ``unknown``, ``used`` or ``expired``."""
        now = self._clock()
        with self._lock:
            entry = self._tokens.get(token)
            if entry is None:
                return "unknown"
            expires_at, redeemed = entry
            if redeemed:
                return "used"
            if expires_at <= now:
                return "expired"
            self._tokens[token] = (expires_at, True)
        return signin_person()

    def counts(self) -> dict[str, int]:
        """How many codes are held and how many were redeemed (never the tokens)."""
        with self._lock:
            redeemed = sum(1 for _, used in self._tokens.values() if used)
            return {"held": len(self._tokens), "redeemed": redeemed}

    def _forget_old(self, now: float) -> None:
        for token in [t for t, (exp, _) in self._tokens.items() if exp < now - SIGNIN_KEEP_S]:
            del self._tokens[token]
        while len(self._tokens) >= SIGNIN_MAX_TOKENS:  # dicts keep insertion order: drop the oldest
            del self._tokens[next(iter(self._tokens))]


def signin_person() -> dict[str, str]:
    """The TEST resident every simulated sign-in stands for: the second sample ID card's holder."""
    # lazy: only a redeemed sign-in code needs it, and importing the ID card package (pyserial, the
    # reader and its simulator) costs ~35 ms at every simulator start otherwise.
    from devices.id_card.identity import sample_cards

    card = sample_cards()[1]
    return {"name": card.name, "id_number": card.id_number, "gender": card.gender, "card_type": "resident"}
