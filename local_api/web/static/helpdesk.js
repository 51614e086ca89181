// The remote help desk (issue 21): the queue pushed by server-sent events, accept, the masked mirror
// (a new frame fetched whenever the stream says one arrived), point by clicking it, prepared messages
// or a short text, end. Nothing here can type into the resident's form: there is no such call.
"use strict";

const Desk = (() => {
  const {api, refusal, text, el, $} = Kiosk;
  const MESSAGES = {
    desk_msg_tap_here: "请点击闪动处 Tap where it flashes", desk_msg_next: "请点“下一步” Tap Next",
    desk_msg_card: "请放身份证 Lay your ID card", desk_msg_wait: "请稍等 Please wait",
    desk_msg_scroll: "请滑动查看 Swipe to see more",
  };
  let mine = null;       // the request this page is helping with
  let shownSeq = 0;      // the newest frame shown
  let loading = false;
  let wantSeq = 0;
  let stream = null;

  function render(requests) {
    const body = $("queue-body");
    body.replaceChildren();
    const open = requests.filter((r) => r.state !== "ended");
    text("queue-count", `${open.length}`);
    for (const r of requests.slice().reverse()) {
      const accept = el("button", {type: "button", textContent: "接入 Accept", disabled: r.state !== "open",
                                   dataset: {accept: r.request_no}});
      body.append(el("tr", {dataset: {request: r.request_no, state: r.state}},
        el("td", {className: "mono"}, r.request_no), el("td", {title: r.item_code}, r.item_name || r.item_code), el("td", {}, r.screen),
        el("td", {}, r.language), el("td", {className: "state"}, r.state), el("td", {}, r.staff || "—"),
        el("td", {}, r.state === "open" ? accept : "")));
    }
    const current = requests.find((r) => r.request_no === mine);
    if (!current) return;
    text("session-state", current.state);
    $("session").dataset.state = current.state;
    if (current.state === "ended") {
      text("mirror-note", current.ended_by === "staff" ? "已结束 Ended" : "群众已结束帮助 The resident ended the help");
      $("mirror").hidden = true;
      return;
    }
    if (current.state === "live" && current.frame_seq > shownSeq) {
      wantSeq = current.frame_seq;
      fetchFrame();
    }
  }

  function fetchFrame() {
    if (loading || !mine || wantSeq <= shownSeq) return;
    loading = true;
    const img = $("mirror");
    const seq = wantSeq;
    img.onload = () => {
      loading = false; shownSeq = Math.max(shownSeq, seq); img.hidden = false;
      img.dataset.seq = String(shownSeq);
      text("mirror-note", "个人信息已遮蔽 · Personal data is masked");
      fetchFrame();
    };
    img.onerror = () => { loading = false; };
    img.src = `/api/v1/helpdesk/requests/${encodeURIComponent(mine)}/frame.png?seq=${seq}`;
  }

  async function accept(number) {
    const result = await api("POST", `/api/v1/helpdesk/requests/${encodeURIComponent(number)}/accept`);
    if (result.status !== 200) { text("queue-result", refusal(result)); return; }
    mine = number; shownSeq = 0; wantSeq = 0;
    text("session-no", number);
    text("session-result", "");
    text("mirror-note", "等待群众同意… Waiting for the resident's consent…");
    $("session").hidden = false;
    $("mirror").hidden = true;
  }

  async function point(event) {
    if (!mine) return;
    const img = $("mirror");
    const box = img.getBoundingClientRect();
    const x = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    const y = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
    const result = await api("POST", `/api/v1/helpdesk/requests/${encodeURIComponent(mine)}/point`, {x, y});
    text("session-result", result.status === 200 ? `已指出 Pointed (#${result.data.point})` : refusal(result));
  }

  async function send(body) {
    if (!mine) return;
    const result = await api("POST", `/api/v1/helpdesk/requests/${encodeURIComponent(mine)}/message`, body);
    text("session-result", result.status === 200 ? "已发送 Sent" : refusal(result));
  }

  async function end() {
    if (!mine) return;
    const result = await api("POST", `/api/v1/helpdesk/requests/${encodeURIComponent(mine)}/end`);
    text("session-result", result.status === 200 ? "已结束 Ended" : refusal(result));
  }

  function follow() {
    if (stream) stream.close();
    stream = new EventSource("/api/v1/helpdesk/stream");
    stream.addEventListener("queue", (event) => render(JSON.parse(event.data).requests));
  }

  let started = false;

  function start() {
    if (started) return;  // a second log-in on the same page
    started = true;
    for (const button of $("messages").querySelectorAll("button")) {
      button.textContent = MESSAGES[button.dataset.key] || button.dataset.key;
      button.addEventListener("click", () => send({key: button.dataset.key}));
    }
    $("queue-body").addEventListener("click", (event) => {
      const number = event.target.dataset && event.target.dataset.accept;
      if (number) accept(number);
    });
    $("mirror").addEventListener("click", point);
    $("send-text").addEventListener("click", () => { send({text: $("free-text").value}); $("free-text").value = ""; });
    $("end").addEventListener("click", end);
    follow();
  }

  Kiosk.onReady(start);
  return {};
})();
