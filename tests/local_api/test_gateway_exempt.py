"""免申即办 and 数据互认 through the gateway's kiosk door to the platform simulator, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from gateway_rig import Rig

from devices.id_card.identity import sample_cards
from kiosk.flow.exempt_model import AskBenefits, BenefitsAnswered, FetchLicences, LicencesFetched
from kiosk.terminal.exempt_calls import carry_out
from local_api.client import GatewayRefused


def person(index: int) -> dict[str, str]:
    card = sample_cards()[index]
    return {"name": card.name, "id_type": "resident_id" if card.card_type != "J" else "taiwan_permit",
            "id_number": card.id_number}


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path / "data")
    yield r
    r.close()


def test_benefits_granted_without_applying_come_through_the_gateway(rig: Rig, caplog) -> None:
    mother = rig.client.exempt_benefits(person(2))["benefits"]
    assert [(b["item_code"], b["status"], b["amount"], b["granted_on"]) for b in mother] == \
        [("yb-syjt", "granted", "18600.00", "2026-03-20")]
    assert rig.client.exempt_benefits(person(0))["benefits"] == []  # the first test card: nothing
    assert rig.client.exempt_benefits(person(1))["benefits"] == []  # nothing granted to this one
    assert person(2)["id_number"] not in caplog.text and "18600" not in caplog.text  # never logged


def test_the_e_licence_library_answers_references_for_what_it_holds(rig: Rig) -> None:
    answer = rig.client.e_licences("rs-sydj", person(2), ["居民户口簿", "家庭收入及财产申报表"])["licences"]
    assert [lic["material"] for lic in answer] == ["居民户口簿"] and answer[0]["licence_ref"].startswith("DZZZ-")
    again = rig.client.e_licences("rs-sydj", person(2), ["居民户口簿"])["licences"]
    assert again[0]["licence_ref"] == answer[0]["licence_ref"]  # the same licence, the same reference
    assert person(2)["id_number"] not in answer[0]["licence_ref"]
    assert rig.client.e_licences("rs-sydj", person(0), ["居民户口簿"])["licences"] == []


def test_unknown_items_and_bad_bodies_are_refused(rig: Rig) -> None:
    with pytest.raises(GatewayRefused) as info:
        rig.client.e_licences("xx-nope", person(0), ["居民户口簿"])
    assert info.value.status == 400 and info.value.field == "item_code"
    with pytest.raises(GatewayRefused) as info:
        rig.client.e_licences("rs-sydj", person(0), [])
    assert info.value.status == 400 and info.value.field == "materials"


def test_platform_out_is_a_503_at_once(rig: Rig) -> None:
    rig.faults(status=503)
    for call in (lambda: rig.client.exempt_benefits(person(0)),
                 lambda: rig.client.e_licences("rs-sydj", person(0), ["居民户口簿"])):
        with pytest.raises(GatewayRefused) as info:
            call()
        assert info.value.status == 503 and info.value.error == "platform_unavailable"


def test_the_terminal_turns_answers_and_failures_into_events(rig: Rig) -> None:
    """kiosk/terminal/exempt_calls.py against the real gateway: an answer, and an outage as ``failed``."""
    asked = AskBenefits(person(2), "notice", "ask-1")
    answer = carry_out(rig.client, asked)
    assert isinstance(answer, BenefitsAnswered) and answer.ask_id == "ask-1" and not answer.failed
    assert [b["item_code"] for b in answer.benefits] == ["yb-syjt"]
    fetched = carry_out(rig.client, FetchLicences("rs-sydj", person(2), ((0, "表格"), (3, "居民户口簿"))))
    assert isinstance(fetched, LicencesFetched) and list(fetched.found) == [3] and not fetched.failed
    rig.faults(status=503)
    assert carry_out(rig.client, asked) == BenefitsAnswered((), "notice", failed=True, ask_id="ask-1")
    assert carry_out(rig.client, FetchLicences("rs-sydj", person(2), ((3, "居民户口簿"),))).failed
