"""Carries out 免申即办 and 数据互认 effects (``kiosk/flow/exempt_model.py``) at the gateway.

Both always answer: a platform that cannot be asked is an answer too (``failed``), so the flow never
waits on them. Nothing personal is logged: only the item code and the HTTP status.
"""

from __future__ import annotations

import logging

from kiosk.flow.exempt_model import AskBenefits, BenefitsAnswered, ExemptWork, FetchLicences, LicencesFetched
from local_api.client import GatewayClient, GatewayError

log = logging.getLogger(__name__)


def carry_out(gateway: GatewayClient, effect: ExemptWork) -> BenefitsAnswered | LicencesFetched:
    """Ask the gateway; the event the flow waits for (``failed`` when the platform could not be asked)."""
    if isinstance(effect, AskBenefits):
        try:
            answer = gateway.exempt_benefits(effect.applicant)
        except GatewayError as exc:
            log.info("exempt benefits not asked: HTTP %s", exc.status or "-")
            return BenefitsAnswered((), effect.purpose, failed=True, ask_id=effect.ask_id)
        benefits = tuple(b for b in answer.get("benefits", []) if isinstance(b, dict))
        return BenefitsAnswered(benefits, effect.purpose, ask_id=effect.ask_id)
    if isinstance(effect, FetchLicences):
        names = {name: i for i, name in effect.materials}
        try:
            answer = gateway.e_licences(effect.item_code, effect.applicant, list(names))
        except GatewayError as exc:
            log.info("e-licences for %s not fetched: HTTP %s", effect.item_code, exc.status or "-")
            return LicencesFetched(effect.item_code, failed=True)
        found = {names[str(lic.get("material"))]: str(lic["licence_ref"])
                 for lic in answer.get("licences", [])
                 if isinstance(lic, dict) and str(lic.get("material")) in names and lic.get("licence_ref")}
        return LicencesFetched(effect.item_code, found)
    raise AssertionError(f"not an exempt effect: {type(effect).__name__}")
