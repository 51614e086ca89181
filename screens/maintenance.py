"""The maintenance pages (issue 10): PIN pad, lock-out, devices, port wizard, paper, service switch.

Drawn from ``kiosk.terminal.maintenance.Maintenance.view()`` with the shared widgets. For a technician at the
terminal: every step by touch, large targets, Chinese with an English line under each label. The
PIN shows as dots, never digits; nothing personal is ever on these pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pygame

from kiosk.flow.views import View, dropped, personal
from screens import theme
from screens.widgets import Button, Canvas

TITLE = "维护模式 Maintenance"
TABS = (("page:devices", "设备\nDevices"), ("page:ports", "端口\nPorts"), ("page:paper", "换纸\nPaper"),
        ("page:service", "服务开关\nService"), ("m:exit", "退出\nExit"))
STATE_NAMES = {"online": "正常 online", "offline": "离线 offline", "no_device": "未连接 no device",
               "busy": "忙 busy", "hardware_error": "故障 hardware error", "user_error": "需处理 user error"}
MESSAGE_TOP = 1700


@dataclass(frozen=True)
class MaintenanceView(View):
    """A maintenance page as drawn (``Maintenance.view()``'s values); shares the residents' screens'
    chrome so the renderer and the app treat both alike. Never a PIN digit or personal data."""

    page: str = "pin"
    pin_length: int = 0
    message: str = ""
    message_ok: bool = False
    busy: str = ""
    """The device work under way ("" for none)."""
    attempts_left: int = 0
    locked_left_s: int = 0
    audit_pending: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    """One per device: name, label, endpoint, state …"""
    preview: tuple[int, int, bytes] | None = field(default=None, metadata=personal(dropped))
    """A camera frame (width, height, RGB bytes) while the technician looks (whoever stood there:
    never in the operators' mirror)."""
    warnings: tuple[str, ...] = ()
    """What the technician must fix that does not stop the kiosk (the sample PIN with real hardware):
    shown on the devices page only, never to residents."""
    ports: list[dict[str, Any]] | None = None
    probe: dict[str, Any] | None = None
    service_messages: tuple[str, ...] = ()
    service_choice: int | None = None


def draw(c: Canvas, view: MaintenanceView, t: Callable[..., str]) -> list[Button]:
    """Draw the page ``view.page``; returns its touch targets."""
    c.fill()
    c.header(TITLE)
    page = view.page
    if page == "pin":
        return _pin(c, view)
    if page == "locked":
        return _locked(c, view)
    buttons = _tabs(c, page)
    buttons += {"devices": _devices, "ports": _ports, "paper": _paper, "service": _service}[page](c, view)
    _message(c, view)
    return buttons


def _pin(c: Canvas, view: MaintenanceView) -> list[Button]:
    c.text("请输入维护密码\nEnter the maintenance PIN", 190, 44, bold=True)
    _dots(c, view.pin_length, 360)
    if view.busy:
        c.text("正在核对… Checking…", 430, 36, colour=theme.MUTED)
    elif view.message:
        c.text(view.message, 430, 36, colour=_tone(view.message_ok), bold=True)
    keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "del", "0", "ok"]
    labels = {"del": "删除\nDelete", "ok": "确定\nOK"}
    buttons = []
    for i, key in enumerate(keys):
        row, col = divmod(i, 3)
        rect = (90 + col * 310, 560 + row * 210, 280, 180)
        buttons.append(c.button(labels.get(key, key), f"pin:{key}", rect, primary=key != "del",
                                size=44 if key in labels else 72))
    buttons.append(c.button("取消 Cancel", "m:exit", (90, 1440, 900, 130), primary=False))
    return buttons


def _dots(c: Canvas, count: int, y: float) -> None:
    """One filled dot per digit typed (the digits themselves are never drawn)."""
    if count == 0:
        pygame.draw.line(c.surface, theme.MUTED, (c.px(440), c.px(y)), (c.px(640), c.px(y)), max(1, c.px(4)))
        return
    gap = 70
    left = 540 - gap * (count - 1) / 2
    for i in range(count):
        pygame.draw.circle(c.surface, theme.TEXT, (c.px(left + i * gap), c.px(y)), c.px(22))


def _locked(c: Canvas, view: MaintenanceView) -> list[Button]:
    left = int(view.locked_left_s)
    c.text("密码错误次数过多，已锁定\nToo many wrong PINs: locked", 330, 48, colour=theme.DANGER, bold=True)
    c.text(f"{left // 60}:{left % 60:02d}", 620, 140, bold=True)
    c.text("请稍后再试，或联系管理员。\nTry again when the countdown ends, or call your supervisor.", 860, 36,
           colour=theme.MUTED)
    return [c.button("返回 Back", "m:exit", (90, 1440, 900, 130), primary=False)]


def _tabs(c: Canvas, page: str) -> list[Button]:
    width, gap = 192, 15
    return [c.button(label, target, (30 + i * (width + gap), 180, width, 120),
                     primary=target == f"page:{page}", size=34)
            for i, (target, label) in enumerate(TABS)]


def _message(c: Canvas, view: MaintenanceView) -> None:
    if not view.busy and not view.message:
        return
    c.panel((40, MESSAGE_TOP, 1000, 200))
    if view.busy:
        c.text("正在处理，请稍候… Working…", MESSAGE_TOP + 70, 40, colour=theme.MUTED, bold=True)
        return
    c.text(view.message, MESSAGE_TOP + 20, 32, colour=_tone(view.message_ok), bold=True, width=940)


def _tone(ok: bool) -> tuple[int, int, int]:
    return theme.SUCCESS if ok else theme.DANGER


def _devices(c: Canvas, view: MaintenanceView) -> list[Button]:
    y = 330.0
    for warning in view.warnings[:2]:
        y = c.text(f"警告 Warning: {warning}", y, 26, colour=theme.DANGER, bold=True, x=50, width=980) + 16
    for row in view.rows[:5]:
        c.panel((40, y, 1000, 168))
        ok = row["state"] == "online"
        c.text(f"{row['label']}  {row['name']}", y + 12, 34, bold=True, x=70, width=560)
        c.text(STATE_NAMES.get(row["state"], row["state"]), y + 12, 34, bold=True, x=640, width=380,
               colour=theme.SUCCESS if ok else theme.DANGER)
        counters = " · ".join(f"{k} {v}" for k, v in row["counters"]) or "—"
        c.text(f"{row['endpoint']}   {counters}", y + 66, 26, colour=theme.MUTED, x=70, width=940)
        if row["last_error"] or row["detail"]:
            c.text(f"最近错误 last error: {row['last_error']}" if row["last_error"] else row["detail"],
                   y + 108, 26, colour=theme.DANGER if row["last_error"] else theme.MUTED, x=70, width=940)
        y += 180
    top = max(y, 1060.0) + 10
    buttons = _tests(c, top)
    if view.preview:
        _preview(c, view.preview, max(1390.0, top + 150))
    return buttons


def _tests(c: Canvas, y: float) -> list[Button]:
    return [c.button("测试读卡\nTest read", "test:id_reader:test_read", (40, y, 320, 130), size=36),
            c.button("测试打印\nTest print", "test:printer:test_print", (380, y, 320, 130), size=36),
            c.button("摄像头预览\nCamera preview", "camera:preview", (720, y, 320, 130), size=36, primary=False)]


def _preview(c: Canvas, frame: tuple[int, int, bytes], y: float) -> None:
    width, height, rgb = frame
    image = pygame.image.frombuffer(rgb, (width, height), "RGB")
    shown_w = 400
    shown_h = round(height * shown_w / width)
    scaled = pygame.transform.smoothscale(image, (c.px(shown_w), c.px(shown_h)))
    c.surface.blit(scaled, (c.px(540 - shown_w / 2), c.px(y)))


def _ports(c: Canvas, view: MaintenanceView) -> list[Button]:
    buttons = [c.button("扫描串口 Scan serial ports", "ports:scan", (40, 330, 1000, 120))]
    ports = view.ports
    y = 470.0
    if ports is None:
        c.text("按“扫描串口”列出本机串口（按稳定编号）。\nTap Scan to list the serial ports by stable id.", y + 20, 32,
               colour=theme.MUTED)
    for port in (ports or [])[:5]:
        c.panel((40, y, 1000, 150))
        c.text(port["id"], y + 10, 26, bold=True, x=70, width=700)
        used = f" · 已用作 used by {', '.join(port['assigned_to'])}" if port["assigned_to"] else ""
        c.text(f"{port['vendor']} · {port['model']} {port['usb_id']}{used}", y + 80, 26, colour=theme.MUTED,
               x=70, width=700)
        buttons.append(c.button("探测\nProbe", f"probe:{port['index']}", (800, y + 15, 220, 120), size=34))
        y += 165
    probe = view.probe
    if probe is not None:
        found = probe["found"]
        c.panel((40, 1300, 1000, 130))
        text = (f"{probe['port']}：发现 {found}，波特率 {probe['baud']} baud" if found
                else f"{probe['port']}：未识别 nothing found. {probe['detail']}")
        c.text(text, 1315, 30, bold=True, x=70, width=940, colour=theme.SUCCESS if found else theme.DANGER)
        if found:
            i = probe["index"]
            buttons += [c.button("设为身份证读卡器\nAssign as ID reader", f"assign:id_reader:{i}",
                                 (40, 1440, 490, 120), size=34, primary=found == "id_reader"),
                        c.button("设为打印机\nAssign as printer", f"assign:printer:{i}", (550, 1440, 490, 120),
                                 size=34, primary=found == "printer")]
    buttons += [c.button("测试读卡 Test read", "test:id_reader:test_read", (40, 1575, 490, 110), size=34,
                         primary=False),
                c.button("测试打印 Test print", "test:printer:test_print", (550, 1575, 490, 110), size=34,
                         primary=False)]
    return buttons


def _paper(c: Canvas, view: MaintenanceView) -> list[Button]:
    c.text("换纸步骤 Replacing the paper", 340, 44, bold=True)
    c.text("1. 打开打印机盖，取出旧纸芯。Open the cover, take out the old core.\n"
           "2. 放入新纸卷，纸头朝外拉出少许。Put in the new roll, paper end out.\n"
           "3. 合上盖子，然后按下面的按钮。Close the cover, then tap the button below.", 440, 32, x=80, width=920)
    rows = [r for r in view.rows if r["name"] == "printer"]
    if rows:
        state = rows[0]["state"]
        c.text(f"打印机 printer: {STATE_NAMES.get(state, state)}", 760, 36, bold=True,
               colour=theme.SUCCESS if state == "online" else theme.DANGER)
    return [c.button("已换纸 Paper replaced", "paper:replaced", (90, 880, 900, 200), size=52)]


def _service(c: Canvas, view: MaintenanceView) -> list[Button]:
    current = view.out_of_service or ""
    if current:
        c.text(f"当前：暂停服务 Out of service\n“{current}”", 320, 30, colour=theme.DANGER, bold=True, width=960)
    else:
        c.text("当前：正常服务 In service", 340, 40, colour=theme.SUCCESS, bold=True)
    c.text("选择给居民看的提示 Choose the residents' message:", 490, 30, colour=theme.MUTED)
    buttons = []
    for i, text in enumerate(view.service_messages):
        buttons.append(c.button(text, f"svc:msg:{i}", (40, 545 + i * 148, 1000, 135), size=30,
                                primary=i == view.service_choice))
    buttons += [c.button("暂停服务\nTake out of service", "svc:off", (40, 1160, 490, 160), size=38),
                c.button("恢复服务\nBack in service", "svc:on", (550, 1160, 490, 160), size=38, primary=False)]
    return buttons
