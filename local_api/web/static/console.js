// The operator console: health, service switch, kiosk screen, devices, outbox, events, audit.
"use strict";

(() => {
  const {api, refusal, text, el, when, pageError, $} = Kiosk;
  const REFRESH_MS = 5000;
  let timer = null;

  function fact(list, label, value, bad) {
    list.append(el("dt", {}, label), el("dd", {className: bad ? "bad" : ""}, value));
  }

  // "3 分钟 3 min", "2 小时 2 h" … from seconds; "—" when unknown.
  function age(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} 秒 s`;
    if (s < 3600) return `${Math.round(s / 60)} 分钟 min`;
    if (s < 86400) return `${(s / 3600).toFixed(s < 36000 ? 1 : 0)} 小时 h`;
    return `${(s / 86400).toFixed(1)} 天 d`;
  }
  const since = (iso) => iso ? age((Date.now() - new Date(iso).getTime()) / 1000) : "—";

  const PAPER_TEXT = {ok: "纸张正常 paper ok", low: "纸张将尽 paper low", out: "缺纸 paper out", unknown: "纸张未知 paper unknown"};
  const AUDIENCE_TEXT = {station: "服务站 station staff", engineer: "工程师 engineer", operations: "运维 operations"};

  function renderHealth(s) {
    const list = $("health-list");
    list.replaceChildren();
    const hb = s.heartbeat, disk = s.disk, platform = s.platform;
    fact(list, "终端 Kiosk", `${s.kiosk_id} · ${s.place}`);
    fact(list, "当前画面 Screen", s.screen || "—");
    fact(list, "心跳 Heartbeat", hb.stale ? `中断 lost (${age(hb.age_s)})` : `正常 ${age(hb.age_s)} ago`, hb.stale);
    for (const [printer, level] of Object.entries(s.paper || {})) {
      fact(list, `纸张 Paper (${deviceText(printer)})`, PAPER_TEXT[level] || level, level !== "ok");
    }
    fact(list, "政务平台 Platform", platform.reachable === false ? `无法连接 unreachable: ${platform.last_error || ""}`
         : platform.reachable ? "可连接 reachable" : "未知 unknown", platform.reachable === false);
    fact(list, "熔断 Breaker", platform.breaker, platform.breaker !== "closed");
    fact(list, "上报 Forwarder", s.forwarder.alive ? "运行中 running" : "已停止 stopped", !s.forwarder.alive);
    fact(list, "待上报 Outbox depth", `${s.outbox.depth}（最久 oldest ${age(s.outbox.oldest_pending_age_s)}）`,
         s.outbox.depth > 0 && s.outbox.oldest_pending_age_s > 600);
    fact(list, "退回/超时 Parked", String(s.outbox.parked), s.outbox.parked > 0);
    if (s.payments) {
      const p = s.payments, c = p.counts;
      fact(list, "缴费 Payments", `已缴 paid ${c.paid} · ¥${p.paid_amount} · 待确认 open ${c.creating + c.created}` +
           ` · 过期/撤销 expired ${c.expired}/${c.cancelled} · 退款 refunded ${c.refunded}`,
           p.oldest_unconfirmed_s !== null && p.oldest_unconfirmed_s > 900);
    }
    fact(list, "磁盘 Disk free", disk.free_mb === null ? "—" : `${disk.free_mb} MB`, !disk.ok);
    fact(list, "最近办事 Last session", s.last_session_at ? `${since(s.last_session_at)} ago` : "—");
    fact(list, "时钟偏差 Clock offset", s.clock.offset_s === null ? "—" : `${s.clock.offset_s} s`,
         s.clock.offset_s !== null && Math.abs(s.clock.offset_s) > 60);
    fact(list, "版本 Versions", `软件 software ${s.versions.software} · 事项 catalog ${s.versions.catalog}` +
         ` · 配置 settings ${s.versions.settings}`);
    fact(list, "运行时长 Uptime", age(s.uptime_s));
    const why = s.attention || [];
    const pill = $("health-summary");
    pill.textContent = why.length ? `需要处理 Needs attention (${why.length})` : "正常 All good";
    pill.className = "pill " + (why.length ? "bad" : "good");
    const reasons = $("attention-list");
    reasons.replaceChildren();
    reasons.hidden = !why.length;
    for (const f of why) {  // which rule, what, who acts and what to do
      reasons.append(el("li", {className: "sev-" + f.severity, dataset: {rule: f.rule}},
        el("strong", {}, f.what), " — ", f.todo, " ",
        el("span", {className: "hint"}, `[${f.rule} · ${AUDIENCE_TEXT[f.audience] || f.audience}]`)));
    }
  }

  function renderDevices(devices) {
    const body = $("devices-body");
    body.replaceChildren();
    const names = Object.keys(devices).sort();
    if (!names.length) body.append(el("tr", {}, el("td", {colSpan: 5}, "终端程序尚未报告设备 The kiosk app has not reported devices yet")));
    for (const name of names) {
      const d = devices[name];
      const last = d.last_error ? `${d.last_error.message || d.last_error.code || ""}` : "—";
      const paper = d.detail && d.detail.paper;
      const shown = (STATE_TEXT[d.state] || d.state) + (paper ? ` · ${PAPER_TEXT[paper] || paper}` : "");
      body.append(el("tr", {className: "dev-" + d.state + (paper && paper !== "ok" ? " paper-" + paper : ""),
                            dataset: {device: name}},
        el("td", {}, deviceText(name)), el("td", {className: "state"}, shown),
        el("td", {}, d.operations ?? "—"), el("td", {}, d.errors ?? "—"), el("td", {}, last)));
    }
  }

  let inService = true;

  function renderService(v) {
    inService = v.in_service;
    const state = $("service-state");
    state.textContent = v.in_service ? "服务中 In service" : `已暂停服务 Out of service — ${v.message}`;
    state.className = "state " + (v.in_service ? "good" : "bad");
    text("service-since", v.since ? `自 since ${when(v.since)}，${since(v.since)}（${v.by ? v.by.role : ""}）` : "");
    // One button: the action available now.
    const button = $("service-toggle");
    button.textContent = v.in_service ? "暂停服务 Take out of service" : "恢复服务 Put back in service";
    button.className = v.in_service ? "danger" : "";
    $("service-message-row").hidden = !v.in_service;
  }

  async function retry(receipt) {
    const result = await api("POST", `/api/v1/outbox/${encodeURIComponent(receipt)}/retry`);
    text("outbox-result", result.status === 200 ? `${receipt} 已重新排队 queued again` : refusal(result));
    refresh();
  }

  let outboxPage = 1;

  function renderOutbox(counts, box) {
    text("outbox-counts", Object.entries(counts).map(([k, n]) => `${k}: ${n}`).join(" · "));
    const rows = box.rows;
    outboxPage = box.page;
    text("outbox-page", `第 ${box.page} / ${box.pages} 页 Page ${box.page} of ${box.pages} · 共 ${box.total} 条 total`);
    $("outbox-prev").disabled = box.page <= 1;
    $("outbox-next").disabled = box.page >= box.pages;
    const body = $("outbox-body");
    body.replaceChildren();
    if (!rows.length) body.append(el("tr", {}, el("td", {colSpan: 8}, "队列为空 The outbox is empty")));
    for (const r of rows) {
      const parked = r.state === "rejected" || r.state === "expired";
      const action = parked ? el("button", {type: "button", onclick: () => retry(r.receipt_no)}, "重新上报 Retry") : "";
      body.append(el("tr", {className: "st-" + r.state}, el("td", {}, r.receipt_no), el("td", {}, r.kind),
        el("td", {title: r.item_code}, r.item_name || r.item_code), el("td", {}, r.state), el("td", {}, r.attempts),
        el("td", {title: when(r.accepted_at)}, `${since(r.accepted_at)} ago`),
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

  async function refresh() {  // one call for everything the page shows
    const result = await api("GET", `/api/v1/console/state?page=${outboxPage}`);
    if (result.status !== 200) { pageError(refusal(result)); return; }
    pageError("");
    const {status, service, outbox, events, audit} = result.data;
    renderService(service);
    renderHealth(status);
    renderDevices(status.devices);
    renderOutbox(status.outbox.counts, outbox);
    renderLog("events-body", events, (e) => `${e.kind}: ${e.message}`);
    renderLog("audit-body", audit, (e) => {
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
    $("service-toggle").onclick = () => setService(!inService);
    $("outbox-prev").onclick = () => { outboxPage = Math.max(1, outboxPage - 1); refresh(); };
    $("outbox-next").onclick = () => { outboxPage += 1; refresh(); };
    refresh();
    if (timer === null) timer = setInterval(() => { if (!$("app").hidden) refresh(); }, REFRESH_MS);
  });
})();
