"""``POST /api/v1/submissions`` without Flask: the checks and the store both kiosk doors run.

The Flask door (:mod:`local_api.web.api_kiosk`) and the event-loop submission door
(:mod:`local_api.web.fast_door`) call the same functions here, so a submission is checked, refused
and stored the same way whichever door it came through: :func:`prepare_submission` (the item code,
the materials' size, the assisted mode's staff token; no I/O) and :func:`store` (the free-space
check, the group-committed, fsync'd ``Outbox.accept_once``, the metrics; blocking, so the event-loop
door runs it on a worker thread). Each returns an :data:`~local_api.web.errors.Answer`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from local_api.outbox.store import DuplicateSubmission, Material, OutboxError, Record, RequestConflict
from local_api.timestamps import iso
from local_api.web.api_staff import assisted_payload, assisted_refusal_answer
from local_api.web.bodies import SubmissionBody
from local_api.web.errors import Answer, BadRequest, error_answer, store_failed_answer
from local_api.web.services import GatewayServices

log = logging.getLogger(__name__)

MB = 1024 * 1024


@dataclass
class Accept:
    """What :func:`store` puts into the outbox, and with what it answers."""

    kind: str
    item_code: str
    payload: dict[str, Any]
    size: int
    subject: str | None = None
    materials: list[Material] | None = None
    kiosk_id: str | None = None
    request_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def unknown_item(svc: GatewayServices, code: str | None, field_name: str = "item_code") -> None:
    """:class:`BadRequest` when ``code`` is not in this terminal's catalog."""
    codes = svc.item_codes
    if code is not None and codes is not None and code not in codes:
        raise BadRequest(field_name, "unknown item code (not in this terminal's catalog)")


def prepare_submission(svc: GatewayServices, body: SubmissionBody, content_length: int | None) -> Accept | Answer:
    """A parsed submission's :class:`Accept`, or the answer that refuses it (raises :class:`BadRequest`
    for an unknown item code)."""
    unknown_item(svc, body.item_code)
    materials = [Material(m.name, m.content_type, m.decoded()) for m in body.materials]
    size = sum(len(m.data) for m in materials)
    limit = svc.settings.gateway.max_materials_mb
    if size > limit * MB:
        return error_answer(413, "payload_too_large", f"materials: together larger than {limit:g} MB",
                            field="materials")
    refused = assisted_refusal_answer(svc.tokens, body.assisted)  # the staff token must still be current
    if refused is not None:
        return refused
    payload = {"applicant": body.applicant.model_dump(), "form": body.form, **assisted_payload(body.assisted)}
    if body.bundle is not None:  # 一件事: forwarded with the item, so the platform sees the items together
        payload["bundle"] = body.bundle.model_dump()
    return Accept(body.kind, body.item_code, payload, size=content_length or size, materials=materials,
                  kiosk_id=body.kiosk_id, request_id=body.request_id)


def disk_refusal(svc: GatewayServices, incoming_bytes: int) -> Answer | None:
    """A 507 answer when storing would eat into the free space the data folder must keep."""
    need_mb = svc.settings.gateway.min_free_mb
    try:
        free = svc.free_space.free(int(need_mb * MB), 2 * incoming_bytes)
    except OSError as exc:
        log.error("cannot read the free space of the data folder: %s", exc)
        return error_answer(503, "outbox_unavailable", "本机暂时无法保存 (the data folder cannot be checked; "
                            "nothing was saved)")
    if free - 2 * incoming_bytes >= need_mb * MB:  # sealed row plus its WAL copy
        return None
    svc.metrics.refused.labels("disk_full").inc()
    svc.events.add("disk_full", f"new submissions refused: {free // MB} MB free, {need_mb:g} MB must stay free")
    log.error("disk nearly full (%d MB free, %g MB must stay free): new submissions refused", free // MB, need_mb)
    return error_answer(507, "disk_full", "本机存储空间不足，暂停受理新的申报，请联系工作人员 (the terminal's disk is "
                        f"nearly full: {free // MB} MB free, {need_mb:g} MB must stay free; nothing was saved)")


def store(svc: GatewayServices, accept: Accept) -> Answer:
    """Accept into the outbox (after the free-space check); 202 with the receipt number (200 for a resend)."""
    refused = disk_refusal(svc, accept.size)
    if refused is not None:
        return refused
    started = time.perf_counter()
    try:
        result: tuple[Record, bool] | BaseException = svc.outbox.accept_once(
            accept.kind, accept.item_code, accept.payload, subject=accept.subject, materials=accept.materials,
            kiosk_id=accept.kiosk_id, request_id=accept.request_id)
    except (DuplicateSubmission, RequestConflict, OutboxError) as exc:
        result = exc
    return _stored(svc, accept, result, started)


def store_many(svc: GatewayServices, accepts: list[Accept]) -> list[Answer]:
    """:func:`store` for several accepts, committed in one transaction (``Outbox.accept_many``): the
    event-loop door's requests of one loop tick. Each gets the answer :func:`store` would give it."""
    answers: list[Answer | None] = [disk_refusal(svc, a.size) for a in accepts]
    going = [a for a, refused in zip(accepts, answers, strict=True) if refused is None]
    if not going:
        return [a for a in answers if a is not None]
    started = time.perf_counter()
    try:
        results = svc.outbox.accept_many([
            {"kind": a.kind, "item_code": a.item_code, "payload": a.payload, "subject": a.subject,
             "materials": a.materials, "kiosk_id": a.kiosk_id, "request_id": a.request_id} for a in going])
    except OutboxError as exc:  # the outbox is closed or unreadable: every accept of the tick fails alike
        results = [exc] * len(going)
    stored = iter(_stored(svc, a, r, started) for a, r in zip(going, results, strict=True))
    return [answer if answer is not None else next(stored) for answer in answers]


def _stored(svc: GatewayServices, accept: Accept, result: tuple[Record, bool] | BaseException,
            started: float) -> Answer:
    """The answer to one accept's outcome in the outbox (and its metrics)."""
    if isinstance(result, DuplicateSubmission):
        return error_answer(409, "already_rated", "this transaction has already been rated (一次一评)")
    if isinstance(result, RequestConflict):
        log.error("kiosk app reused a request id with a different body: %s", result)  # receipt and id only
        return error_answer(409, "request_conflict", "本次提交与之前同一请求编号的内容不一致，未予保存 (this request_id "
                            "was already used for another submission with a different body; nothing was stored: "
                            "every submission needs its own request_id)", field="request_id")
    if isinstance(result, OutboxError):
        svc.metrics.refused.labels("outbox_unavailable").inc()
        return store_failed_answer(result)
    if isinstance(result, BaseException):
        raise result
    record, created = result
    if not created:  # a resend of a stored submission: the same receipt, nothing new stored
        return 200, {"receipt_no": record.receipt_no, "state": record.state,
                     "accepted_at": iso(record.accepted_at), "duplicate": True, **accept.extra}
    svc.metrics.accept_seconds.observe(time.perf_counter() - started)
    svc.metrics.accepted.labels(accept.kind).inc()
    svc.forwarder.wake()
    return 202, {"receipt_no": record.receipt_no, "state": record.state,
                 "accepted_at": iso(record.accepted_at), **accept.extra}
