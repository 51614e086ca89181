// The operator console: health, service switch, kiosk screen, devices, outbox, events, audit.
"use strict";

(() => {
  const {api, refusal, text, el, when, pageError, $} = Kiosk;
  const REFRESH_MS = 5000;
  let timer = null;

  function fact(list, label, value, bad) {
    list.append(el("dt", {}, label), el("dd", {className: bad ? "bad" : ""}, value));
  }

  function renderHealth(s, service) {
    const list = $("health-list");
    list.replaceChildren();
    const hb = s.heartbeat, disk = s.disk, platform = s.platform;
    fact(list, "终端 Kiosk", `${s.kiosk_id} · ${s.place}`);
    fact(list, "当前画面 Screen", s.screen || "—");
    fact(list, "心跳 Heartbeat", hb.stale ? `中断 lost (${hb.age_s ?? "—"} s)` : `正常 ${hb.age_s} s ago`, hb.stale);
    fact(list, "政务平台 Platform", platform.reachable === false ? `无法连接 unreachable: ${platform.last_error || ""}`
         : platform.reachable ? "可连接 reachable" : "未知 unknown", platform.reachable === false);
    fact(list, "熔断 Breaker", platform.breaker, platform.breaker !== "closed");
    fact(list, "上报 Forwarder", s.forwarder.alive ? "运行中 running" : "已停止 stopped", !s.forwarder.alive);
    fact(list, "待上报 Outbox depth", `${s.outbox.depth}（最久 oldest ${s.outbox.oldest_pending_age_s ?? "—"} s）`,
         s.outbox.depth > 0 && s.outbox.oldest_pending_age_s > 600);
    fact(list, "退回/超时 Parked", String(s.outbox.parked), s.outbox.parked > 0);
    if (s.payments) {
      const p = s.payments, c = p.counts;
      fact(list, "缴费 Payments", `已缴 paid ${c.paid} · ¥${p.paid_amount} · 待确认 open ${c.creating + c.created}` +
           ` · 过期/撤销 expired ${c.expired}/${c.cancelled} · 退款 refunded ${c.refunded}`,
           p.oldest_unconfirmed_s !== null && p.oldest_unconfirmed_s > 900);
    }
    fact(list, "磁盘 Disk free", disk.free_mb === null ? "—" : `${disk.free_mb} MB`, !disk.ok);
    fact(list, "运行时长 Uptime", `${Math.round(s.uptime_s / 60)} min`);
    const devicesBad = Object.values(s.devices).some((d) => !["online", "busy"].includes(d.state));
    const bad = hb.stale || platform.reachable === false || !disk.ok || !s.forwarder.alive || devicesBad
                || !service.in_service;
    const pill = $("health-summary");
    pill.textContent = bad ? "需要处理 Needs attention" : "正常 All good";
    pill.className = "pill " + (bad ? "bad" : "good");
  }

  function renderDevices(devices) {
    const body = $("devices-body");
    body.replaceChildren();
    const names = Object.keys(devices).sort();
    if (!names.length) body.append(el("tr", {}, el("td", {colSpan: 5}, "终端程序尚未报告设备 The kiosk app has not reported devices yet")));
    for (const name of names) {
      const d = devices[name];
      const last = d.last_error ? `${d.last_error.message || d.last_error.code || ""}` : "—";
      body.append(el("tr", {className: "dev-" + d.state, dataset: {device: name}},
        el("td", {}, deviceText(name)), el("td", {className: "state"}, STATE_TEXT[d.state] || d.state),
        el("td", {}, d.operations ?? "—"), el("td", {}, d.errors ?? "—"), el("td", {}, last)));
    }
  }

  function renderService(v) {
    const state = $("service-state");
    state.textContent = v.in_service ? "服务中 In service" : `已暂停服务 Out of service — ${v.message}`;
    state.className = "state " + (v.in_service ? "good" : "bad");
    text("service-since", v.since ? `自 since ${when(v.since)}（${v.by ? v.by.role : ""}）` : "");
  }

  async function retry(receipt) {
    const result = await api("POST", `/api/v1/outbox/${encodeURIComponent(receipt)}/retry`);
    text("outbox-result", result.status === 200 ? `${receipt} 已重新排队 queued again` : refusal(result));
    refresh();
  }

  function renderOutbox(counts, rows) {
    text("outbox-counts", Object.entries(counts).map(([k, n]) => `${k}: ${n}`).join(" · "));
    const body = $("outbox-body");
    body.replaceChildren();
    if (!rows.length) body.append(el("tr", {}, el("td", {colSpan: 8}, "队列为空 The outbox is empty")));
    for (const r of rows.slice(-20).reverse()) {
      const parked = r.state === "rejected" || r.state === "expired";
      const action = parked ? el("button", {type: "button", onclick: () => retry(r.receipt_no)}, "重新上报 Retry") : "";
      body.append(el("tr", {className: "st-" + r.state}, el("td", {}, r.receipt_no), el("td", {}, r.kind),
        el("td", {}, r.item_code), el("td", {}, r.state), el("td", {}, r.attempts), el("td", {}, when(r.accepted_at)),
        el("td", {}, r.last_error || ""), el("td", {}, action)));
    }
  }

  function renderLog(id, entries, line) {
    const list = $(id);
    list.replaceChildren();
    if (!entries.length) list.append(el("li", {}, "暂无 None yet"));
    for (const e of entries.slice().reverse()) list.append(el("li", {}, el("time", {}, when(e.at)), " ", line(e)));
  }

  function refreshScreen() {
    const img = $("screen-img");
    const probe = new Image();
    probe.onload = () => { img.src = probe.src; img.hidden = false; text("screen-note", "个人信息在画面上已遮蔽 · Personal data is masked on screen"); };
    probe.onerror = () => { img.hidden = true; text("screen-note", "终端尚未发送画面 The kiosk has not sent a picture of its screen yet"); };
    probe.src = `/api/v1/screen.png?t=${Date.now()}`;
  }

  async function refresh() {
    const [status, service, outbox, events, audit] = await Promise.all([
      api("GET", "/api/v1/status"), api("GET", "/api/v1/service"), api("GET", "/api/v1/outbox?limit=1000"),
      api("GET", "/api/v1/events?limit=1000"), api("GET", "/api/v1/events?source=audit&limit=30")]);
    if (status.status !== 200) { pageError(refusal(status)); return; }
    pageError("");
    renderService(service.data);
    renderHealth(status.data, service.data);
    renderDevices(status.data.devices);
    renderOutbox(status.data.outbox.counts, outbox.status === 200 ? outbox.data.submissions : []);
    renderLog("events-body", events.status === 200 ? events.data.events.slice(-30) : [], (e) => `${e.kind}: ${e.message}`);
    renderLog("audit-body", audit.status === 200 ? audit.data.events : [], (e) => {
      const who = e.actor.kind === "kiosk" ? "终端维护 kiosk" : `${e.actor.role || "?"} ${e.actor.token_id || e.actor.address || ""}`;
      return `${e.action} [${e.outcome}] ${who}${e.target ? " → " + e.target : ""}${e.detail ? " · " + e.detail : ""}`;
    });
    refreshScreen();
    text("updated-at", when(new Date().toISOString()));
  }

  async function setService(inService) {
    const message = $("service-message").value;
    const result = await api("POST", "/api/v1/service", {in_service: inService, message});
    if (result.status === 200) {
      renderService(result.data);
      text("service-result", inService ? "已恢复服务 Back in service" : "已暂停服务 Taken out of service");
    } else {
      text("service-result", refusal(result));
    }
    refresh();
  }

  Kiosk.onReady(() => {
    $("service-off").onclick = () => setService(false);
    $("service-on").onclick = () => setService(true);
    refresh();
    if (timer === null) timer = setInterval(() => { if (!$("app").hidden) refresh(); }, REFRESH_MS);
  });
})();
