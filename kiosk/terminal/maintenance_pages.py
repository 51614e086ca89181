"""The maintenance pages after a login: devices, port wizard, paper, out of service (issue 10).

A mixin of :class:`kiosk.terminal.maintenance.Maintenance`, split off along the seam between "who may be
here" (gesture, PIN, lock-out, audit delivery) and "what a technician does here". Every device call
goes through the owner's ``_start`` so it runs on the worker thread; each outcome is audited by the
work itself, so a result that arrives after the technician left is still recorded.
"""

from __future__ import annotations

from typing import Any

PAGES = ("devices", "ports", "paper", "service")
ROWS_REFRESH_S = 1.0
PREVIEW_WIDTH = 320  # design px of the camera thumbnail
SERVICE_MESSAGES = (
    "设备维护中，请稍后再来。Under maintenance, please come back later.",
    "打印机缺纸，正在处理。The printer is out of paper; help is on the way.",
    "系统升级中，请到服务窗口办理。System upgrade: please use the service counter.",
    "暂停服务，请到附近其他自助终端办理。Out of service: please use another kiosk nearby.",
)
DEVICE_NAMES = {"id_reader": "身份证读卡器", "printer": "凭条打印机", "ssc_reader": "社保卡读卡器",
                "camera": "人脸摄像头", "document_camera": "高拍仪"}
TESTS = {("id_reader", "test_read"), ("printer", "test_print"), ("ssc_reader", "test_read"),
         ("id_reader", "self_test"), ("printer", "self_test"), ("ssc_reader", "self_test"),
         ("camera", "self_test"), ("document_camera", "self_test")}


class MaintenancePages:
    """Page state and handlers; the attributes used here are set by ``Maintenance.__init__``."""

    # Provided by kiosk.terminal.maintenance.Maintenance (declared for readers and type checkers).
    page: str
    message: str
    message_ok: bool
    control: Any
    gateway: Any
    camera: Any
    clock: Any
    on_service: Any
    service_message: Any
    _job: Any

    def _start(self, label: str, work: Any, done: Any) -> None:
        raise NotImplementedError  # Maintenance's

    def _say(self, message: str, ok: bool) -> None:
        raise NotImplementedError  # Maintenance's

    def _audit(self, action: str, outcome: str, target: str | None, detail: str) -> None:
        raise NotImplementedError  # Maintenance's

    def _reset_pages(self) -> None:
        """Forget what the pages showed: rows, ports, the probe answer, the camera frame, messages."""
        self.message, self.message_ok = "", True
        self.rows: list[dict[str, Any]] = []
        self.warnings: tuple[str, ...] = ()
        self._rows_at = -1.0
        self.ports: list[dict[str, Any]] | None = None
        self.probe_result: dict[str, Any] | None = None
        self.preview: tuple[int, int, bytes] | None = None
        self.service_choice = 0

    def _refresh_rows(self) -> None:
        """The device table from ``DeviceControl.rows()`` (no I/O), at most once a second."""
        self._rows_at = self.clock() + ROWS_REFRESH_S
        control = self.control()
        try:
            self.warnings = tuple(control.warnings())
        except Exception:  # noqa: BLE001  secondary to the table: the rows still show
            self.warnings = ()
        try:
            rows = control.rows()
        except Exception as exc:  # noqa: BLE001  the table says it cannot be read; the page keeps working
            self.rows = [{"name": "-", "label": "设备状态读取失败", "endpoint": "", "state": "unknown",
                          "detail": type(exc).__name__, "counters": (), "last_error": str(exc)}]
            return
        self.rows = [{"name": r.name, "label": DEVICE_NAMES.get(r.name, r.name), "endpoint": r.endpoint,
                      "state": r.state, "detail": r.detail, "counters": tuple(sorted(r.counters.items())),
                      "last_error": r.last_error} for r in rows]

    def _page_view(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rows": self.rows, "preview": self.preview, "warnings": self.warnings}
        if self.page == "ports":
            out["ports"] = self.ports
            out["probe"] = self.probe_result
        if self.page == "service":
            current = self.service_message()
            out["out_of_service"] = current
            out["service_messages"] = SERVICE_MESSAGES
            out["service_choice"] = self.service_choice
        return out

    # -- taps --

    def _page_tapped(self, target: str) -> None:
        kind, _, rest = target.partition(":")
        if kind == "page" and rest in PAGES:
            if rest != self.page:
                self.page = rest
                self.preview = None  # a camera frame shows whoever stood there: only while looking
                self.message, self.message_ok = "", True
                self._rows_at = -1.0
            return
        if self._job is not None:
            return  # one thing at a time; the page says "working…"
        if kind == "test":
            device, _, action = rest.partition(":")
            if (device, action) in TESTS:
                self._start("test", lambda: self._run_test(device, action), self._tested)
        elif target == "camera:preview":
            self._start("preview", self._grab_preview, self._previewed)
        elif target == "ports:scan":
            self.probe_result = None
            self._start("scan", lambda: self.control().ports(), self._scanned)
        elif kind == "probe" and rest.isdigit() and self.ports and int(rest) < len(self.ports):
            port = self.ports[int(rest)]
            self.probe_result = None
            self._start("probe", lambda: self._run_probe(port), self._probed)
        elif kind == "assign":
            self._assign(rest)
        elif target == "paper:replaced":
            self._start("paper", self._run_paper, lambda words: self._say(words, True))
        elif kind == "svc" and rest.startswith("msg:") and rest[4:].isdigit():
            self.service_choice = min(int(rest[4:]), len(SERVICE_MESSAGES) - 1)
        elif target in ("svc:off", "svc:on"):
            on = target == "svc:on"
            message = "" if on else SERVICE_MESSAGES[self.service_choice]
            self._start("service", lambda: self._run_service(on, message), self._switched)

    # -- the work (worker thread) and its outcome (UI thread) --

    def _run_test(self, device: str, action: str) -> Any:
        outcome = self.control().test(device, action)
        self._audit("device_test", "ok" if outcome.ok else "failed", device,
                    f"{action}: {outcome.detail}")
        return outcome

    def _tested(self, outcome: Any) -> None:
        name = DEVICE_NAMES.get(outcome.device, outcome.device)
        verdict = "成功 OK" if outcome.ok else "失败 Failed"
        self._say(f"{name} {_ACTION_NAMES.get(outcome.action, outcome.action)}{verdict}：{outcome.detail}",
                  outcome.ok)
        self._rows_at = -1.0

    def _grab_preview(self) -> tuple[int, int, bytes]:
        # lazy: OpenCV (0.2 s) loads only when a technician asks for a picture
        import cv2

        camera = self.camera()
        if camera is None:
            raise RuntimeError("没有人脸摄像头 (no face camera is configured)")
        frame = camera.read()
        if frame is None:
            raise RuntimeError("摄像头没有送来画面 (the camera gave no frame): check its cable")
        height, width = frame.shape[:2]
        small = cv2.resize(frame, (PREVIEW_WIDTH, max(1, round(height * PREVIEW_WIDTH / width))))
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        self._audit("device_test", "ok", "camera", "preview frame shown")
        return rgb.shape[1], rgb.shape[0], rgb.tobytes()

    def _previewed(self, frame: tuple[int, int, bytes]) -> None:
        self.preview = frame
        self._say("摄像头画面正常。Camera preview below.", True)

    def _scanned(self, ports: list[dict[str, Any]]) -> None:
        self.ports = [_port_entry(p, i) for i, p in enumerate(ports)]
        if self.ports:
            self._say(f"找到 {len(self.ports)} 个串口。Found {len(self.ports)} serial port(s): probe one.", True)
        else:
            self._say("没有找到串口：请检查 USB 线是否插好。No serial port found: check the USB cable.", False)

    def _run_probe(self, port: dict[str, Any]) -> dict[str, Any]:
        answer = dict(self.control().probe(port["path"]))
        answer["index"] = port["index"]
        return answer

    def _probed(self, answer: dict[str, Any]) -> None:
        self.probe_result = {"index": answer.get("index", 0), "port": str(answer.get("port", "")),
                             "found": answer.get("found"), "baud": answer.get("baud"),
                             "detail": str(answer.get("detail", "")),
                             "endpoint": str(answer.get("endpoint") or answer.get("port", ""))}
        found = answer.get("found")
        if found:
            self._say(f"发现{DEVICE_NAMES.get(found, found)}，波特率 {answer.get('baud')}。"
                      f"Found a {found} at {answer.get('baud')} baud.", True)
        else:
            self._say(f"这个串口上没有识别到设备：{answer.get('detail', '')}", False)

    def _assign(self, rest: str) -> None:
        device, _, index = rest.partition(":")
        probe = self.probe_result
        if device not in ("id_reader", "printer") or probe is None or not probe["found"] \
                or str(probe["index"]) != index:
            return
        endpoint = probe["endpoint"]
        self._start("change", lambda: self._run_change({device: endpoint}), self._changed)

    def _run_change(self, changes: dict[str, object]) -> Any:
        outcome = self.control().change(changes, actor="maintenance")
        detail = "; ".join(f"{k}: {a} → {b}" for k, (a, b) in sorted(outcome.changes.items()))
        detail = detail or outcome.message
        self._audit("settings_changed", "applied" if outcome.applied else "refused",
                    ",".join(sorted(changes)), detail[:300])
        return outcome

    def _changed(self, outcome: Any) -> None:
        self._say(outcome.message, bool(outcome.applied))
        self._rows_at = -1.0

    def _run_paper(self) -> str:
        words = str(self.control().paper_replaced())
        self._audit("paper_replaced", "ok", "printer", words[:300])
        return words

    def _run_service(self, in_service: bool, message: str) -> dict[str, Any]:
        # The gateway's loopback door records the switch in its audit itself (actor kind "kiosk").
        answer = self.gateway.set_service(in_service, message)
        self.on_service(bool(answer.get("in_service", in_service)), str(answer.get("message", message)))
        return answer

    def _switched(self, answer: dict[str, Any]) -> None:
        if answer.get("in_service", True):
            self._say("已恢复服务。The kiosk is back in service.", True)
        else:
            self._say("已暂停服务；退出维护后居民会看到这条提示。Out of service: residents see the message "
                      "after you exit.", True)


_ACTION_NAMES = {"test_read": "测试读卡", "test_print": "测试打印", "self_test": "自检", "reset": "复位"}


def _port_entry(port: dict[str, Any], index: int) -> dict[str, Any]:
    """One port row: its stable id, vendor and model, and the path a probe and an assignment use."""
    stable = port.get("stable_id") or port.get("stable_path") or port.get("device") or "?"
    path = port.get("stable_path") or port.get("device") or stable
    return {"index": index, "id": str(stable), "path": str(path),
            "vendor": str(port.get("manufacturer") or port.get("vendor") or "—"),
            "model": str(port.get("product") or port.get("model") or port.get("description") or "—"),
            "usb_id": str(port.get("usb_id") or ""), "assigned_to": tuple(port.get("assigned_to") or ())}
