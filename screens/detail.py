"""Item detail: what it is, what to bring, how long, what it costs, which identity — and 办理."""

from __future__ import annotations

from kiosk.flow.views import View
from screens import theme
from screens.chrome import Text, footer
from screens.messages import message_box
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(view.item_name)
    y = c.text(f"{view.item_department} · {t('kind_' + (view.item_kind or 'guide'))}", 185, 34,
               colour=theme.MUTED)
    if view.item_summary:
        y = c.text(view.item_summary, y + 10, 36, x=60, width=960)
    elder = view.elder
    rows = [(t("detail_days"), t("detail_instant") if view.item_instant or not view.item_days
             else t("detail_days_value_one") if view.item_days == 1 else t("detail_days_value", days=view.item_days)),
            (t("detail_fee"), t("detail_free") if view.item_fee in ("0", "0.00", "")
             else f"¥{view.item_fee}"),
            (t("detail_identity"), " / ".join(t("id_" + i) for i in view.item_identity))]
    for label, value in rows:
        below = c.text(label, y + 20, 32, colour=theme.MUTED, x=60, width=300)
        # Elder mode's larger text has no room for two columns: the value goes under its label.
        y = c.text(value, below + 4 if elder else y + 20, 36, x=360 if not elder else 60,
                   width=660 if not elder else 960)
    materials = view.item_materials
    if materials:
        y = c.text(t("detail_materials"), y + 30, 34, colour=theme.MUTED, x=60, width=960)
        for m in materials[: 4 if elder else 8]:
            y = c.text(f"· {m}", y + 6, 34, x=80, width=940)
    buttons: list[Button] = []
    if view.item_follow_ups:  # 免申即办: what this item sets going without a new application
        y = c.text(t("detail_follow_ups", items="、".join(view.item_follow_ups) if view.language != "en"
                     else "; ".join(view.item_follow_ups)), y + 24, 34, colour=theme.SUCCESS, x=60, width=960)
    if view.item_exempt:  # 免申即办: no application; its status (and decision) instead
        y = message_box(c, t("detail_exempt"), "success", max(y + 30, 1000))
        c.text(t("detail_exempt_hint"), y + 10, 34, width=900)
        if not view.item_unavailable:
            buttons.append(c.button(t("detail_exempt_status"), "exempt:status", (140, 1520, 800, 180), size=56))
        return buttons + footer(c, t, back=True)
    reason = view.item_unavailable
    if reason:
        y = message_box(c, t(reason), "warning", max(y + 30, 1240))
        c.text(t(reason + "_alt"), y + 10, 34, width=900)
    else:
        label = t("detail_print_guide") if view.item_kind == "guide" else t("detail_begin")
        buttons.append(c.button(label, "begin", (140, 1520, 800, 180), size=56))
    return buttons + footer(c, t, back=True)
