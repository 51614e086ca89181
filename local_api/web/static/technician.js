// The technician page: serial ports by stable id, assigning them, device settings, device tests, tokens.
"use strict";

(() => {
  const {api, refusal, text, el, when, pageError, $} = Kiosk;
  const ACTIONS = {id_reader: ["test_read", "self_test", "reset"], printer: ["test_print", "self_test", "reset"]};
  const ACTION_TEXT = {test_read: "试读卡 Test read", test_print: "试打印 Test print", self_test: "自检 Self-test",
                       reset: "复位 Reset"};
  // A camera's self-test captures one frame (kiosk/terminal/cameras.py capture_test); reset reopens it.
  const CAMERAS = ["camera", "document_camera", "qr_camera"];
  const actionText = (device, action) =>
    CAMERAS.includes(device) && action === "self_test" ? "试拍 Test capture" : ACTION_TEXT[action];

  async function save(change) {
    const result = await api("PUT", "/api/v1/devices/settings", change);
    if (result.status === 200) {
      text("settings-result", "已保存，终端将在下次心跳后应用 Saved; the kiosk applies it after its next heartbeat");
    } else {
      text("settings-result", `未保存 Not saved: ${refusal(result)}`);
    }
    await load();
  }

  function renderPorts(ports) {
    const body = $("ports-body");
    body.replaceChildren();
    $("ports-empty").hidden = ports.length > 0;
    for (const p of ports) {
      const name = p.stable_id || p.device;
      const vendor = [p.manufacturer, p.product || p.description].filter(Boolean).join(" / ") || "—";
      const uses = p.assigned_to.length ? p.assigned_to.join(", ") : "—";
      const assign = el("span", {className: "buttons"},
        el("button", {type: "button", onclick: () => save({id_reader: name})}, "设为阅读器 Use for ID reader"),
        el("button", {type: "button", onclick: () => save({printer: name})}, "设为打印机 Use for printer"));
      body.append(el("tr", {dataset: {device: p.device}}, el("td", {className: "mono"}, name),
        el("td", {className: "mono"}, p.device), el("td", {}, vendor), el("td", {}, p.usb_id || "—"),
        el("td", {className: "uses"}, uses), el("td", {}, assign)));
    }
  }

  function renderSettings(view) {
    const s = view.settings;
    $("set-id_reader").value = s.id_reader;
    $("set-printer").value = s.printer;
    $("set-paper_width_mm").value = String(s.paper_width_mm);
    text("settings-revision", view.revision ? `本地修改 Local changes: ${view.local.join(", ")} (rev ${view.revision})`
         : "使用配置文件中的设置 Using the configured settings");
    text("settings-warnings", (view.warnings || []).join(" "));
    $("settings-warnings").hidden = !(view.warnings || []).length;
  }

  async function runTest(device, action) {
    const queued = await api("POST", `/api/v1/devices/${encodeURIComponent(device)}/tests`, {action});
    if (queued.status !== 202) { text("test-result", refusal(queued)); return; }
    text("test-result", `${deviceText(device)} ${actionText(device, action)}: 已排队 queued`);
    const id = queued.data.command_id;
    for (let i = 0; i < 120; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const state = await api("GET", `/api/v1/devices/tests/${id}`);
      if (state.status !== 200) { text("test-result", refusal(state)); return; }
      const t = state.data;
      if (t.state === "done") {
        text("test-result", `${deviceText(device)} ${actionText(device, action)}: ${t.ok ? "通过 passed" : "失败 failed"} ${t.detail || ""}`);
        return;
      }
      text("test-result", `${deviceText(device)} ${actionText(device, action)}: ${t.state === "sent" ? "执行中 running" : "已排队 queued"}`);
    }
  }

  function renderTests(devices) {
    const body = $("tests-body");
    body.replaceChildren();
    const names = Object.keys(devices).sort();
    if (!names.length) body.append(el("tr", {}, el("td", {colSpan: 3}, "终端程序尚未报告设备 The kiosk app has not reported devices yet")));
    for (const name of names) {
      const buttons = el("span", {className: "buttons"});
      for (const action of ACTIONS[name] || ["self_test", "reset"]) {
        buttons.append(el("button", {type: "button", dataset: {action}, onclick: () => runTest(name, action)}, actionText(name, action)));
      }
      const d = devices[name];
      const why = d.state !== "online" && d.last_error ? ` — ${d.last_error.message || ""}` : "";
      body.append(el("tr", {dataset: {device: name}}, el("td", {}, deviceText(name)),
        el("td", {className: "state"}, (STATE_TEXT[d.state] || d.state) + why), el("td", {}, buttons)));
    }
  }

  function renderTokens(tokens) {
    const body = $("tokens-body");
    body.replaceChildren();
    for (const t of tokens) {
      const revoke = el("button", {type: "button", onclick: async () => {
        const result = await api("DELETE", `/api/v1/tokens/${encodeURIComponent(t.id)}`);
        text("token-result", result.status === 200 ? `已吊销 Revoked ${t.id}` : refusal(result));
        loadTokens();
      }}, "吊销 Revoke");
      body.append(el("tr", {dataset: {token: t.id}}, el("td", {className: "mono"}, t.id),
        el("td", {}, t.role), el("td", {}, t.label || "—"), el("td", {className: "expires"}, t.expires_at ? when(t.expires_at) : "—"),
        el("td", {className: "last-used"}, t.last_used_at ? when(t.last_used_at) : "从未 never"), el("td", {}, revoke)));
    }
  }

  async function loadTokens() {
    const result = await api("GET", "/api/v1/tokens");
    if (result.status === 200) renderTokens(result.data.tokens);
  }

  async function createToken(event) {
    event.preventDefault();
    const body = {role: $("token-role").value, label: $("token-label").value.trim()};
    const expires = $("token-expires").value;
    if (expires) body.expires_at = new Date(expires).toISOString();  // the browser's local time, sent with its offset
    const result = await api("POST", "/api/v1/tokens", body);
    text("token-result", result.status === 201
      ? `新令牌（只显示这一次）New token (shown only now): ${result.data.token}` : `未创建 Not created: ${refusal(result)}`);
    loadTokens();
  }

  async function load() {
    const [ports, settings] = await Promise.all([api("GET", "/api/v1/devices/ports"), api("GET", "/api/v1/devices/settings")]);
    if (ports.status !== 200 || settings.status !== 200) {
      pageError(`此页面需要技术员令牌 This page needs a technician token. ${refusal(ports.status !== 200 ? ports : settings)}`);
      return;
    }
    pageError("");
    renderPorts(ports.data.ports);
    renderSettings(settings.data);
    renderTests(settings.data.status);
    loadTokens();
  }

  Kiosk.onReady(() => {
    $("settings-form").onsubmit = (event) => {
      event.preventDefault();
      save({id_reader: $("set-id_reader").value.trim(), printer: $("set-printer").value.trim(),
            paper_width_mm: Number($("set-paper_width_mm").value)});
    };
    $("token-form").onsubmit = createToken;
    $("settings-reset").onclick = async () => {
      const result = await api("DELETE", "/api/v1/devices/settings");
      text("settings-result", result.status === 200 ? "已恢复配置文件中的设置 Back to the configured settings" : refusal(result));
      load();
    };
    load();
  });
})();
