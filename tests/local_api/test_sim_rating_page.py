"""The 好差评 page a receipt's QR code opens, as the platform simulator serves it."""

from __future__ import annotations

from local_api.sim.app import create_platform_app
from local_api.sim.state import state

RECEIPT = "HC-DEMO-001-20261121-123456-0001"


def test_the_page_offers_five_equal_levels_and_keeps_the_rating():
    app = create_platform_app("s3cret", seed=1)
    client = app.test_client()
    page = client.get(f"/hcp?no={RECEIPT}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert RECEIPT in html and html.count('<button type="submit"') == 5 and "checked" not in html
    assert html.index("非常满意") < html.index("基本满意") < html.index("非常不满意")
    assert client.post(f"/hcp?no={RECEIPT}", data={"level": "2"}).status_code == 200
    with app.app_context():
        ratings = list(state().ratings.values())
    assert [(r["receipt_no"], r["level_gbt39046"], r["via"]) for r in ratings] == [(RECEIPT, 2, "receipt_qr")]


def test_a_wrong_number_or_level_is_refused():
    client = create_platform_app("s3cret", seed=1).test_client()
    assert client.get("/hcp?no=not-a-receipt").status_code == 404
    assert client.post(f"/hcp?no={RECEIPT}", data={"level": "9"}).status_code == 400
    assert client.get("/hcp?no=%3Cscript%3E").status_code == 404
