// Shared by the console pages: log-in with a token, calls to the gateway's JSON API with the
// session cookie and the CSRF token, and small helpers. No library, no build step: the pages
// must work on a terminal without a network.
"use strict";

const Kiosk = (() => {
  let csrf = null;
  let role = null;
  const starters = [];

  const $ = (id) => document.getElementById(id);

  /** Call the API; resolves to {status, data} (data: the JSON answer, or null). Never throws on HTTP errors. */
  async function api(method, path, body) {
    const headers = {};
    if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {method, headers, credentials: "same-origin", cache: "no-store",
                                    body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (err) {
      return {status: 0, data: {error: "unreachable", message: "网关未响应 The gateway is not answering"}};
    }
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (response.status === 401 && path !== "/console/session") showLogin("会话已结束，请重新登录 The session ended; log in again");
    return {status: response.status, data};
  }

  /** A refusal's text for a person: the gateway's own message, with the HTTP status. */
  function refusal(result) {
    const message = result.data && result.data.message ? result.data.message : "请求失败 The request failed";
    return `${message} (HTTP ${result.status})`;
  }

  function text(id, value) { const el = $(id); if (el) el.textContent = value; }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    const {dataset, ...rest} = props || {};
    Object.assign(node, rest);
    Object.assign(node.dataset, dataset || {});  // dataset itself is read-only
    for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
    return node;
  }

  function when(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString("zh-CN", {hour12: false});
  }

  function showLogin(message) {
    csrf = null; role = null;
    $("app").hidden = true;
    $("login").hidden = false;
    $("whoami").hidden = true;
    $("logout").hidden = true;
    text("login-error", message || "");
  }

  function showApp(who) {
    role = who;
    $("login").hidden = true;
    $("app").hidden = false;
    $("whoami").hidden = false;
    $("logout").hidden = false;
    text("whoami", who === "technician" ? "技术员 Technician" : who === "helper" ? "帮办坐席 Help desk" : "运维值守 Operator");
    for (const start of starters) start(role);
  }

  async function login(event) {
    event.preventDefault();
    const token = $("token").value.trim();
    const asked = !$("totp-row").hidden;
    const body = asked ? {token, totp: $("totp").value.trim()} : {token};
    const result = await api("POST", "/console/session", body);
    $("totp").value = "";
    const code = result.data && result.data.error;
    if (code === "totp_required" || code === "totp_wrong") {
      // The token was right: keep it and ask for the authenticator's code (the second factor).
      $("totp-row").hidden = false;
      $("totp").required = true;
      showLogin(code === "totp_required" ? "请输入身份验证器上的 6 位动态码 Enter the 6-digit code from the authenticator app"
                                         : `动态码错误 The code is not right. ${refusal(result)}`);
      $("totp").focus();
      return;
    }
    $("token").value = "";
    $("totp-row").hidden = true;
    $("totp").required = false;
    if (result.status === 200) {
      csrf = result.data.csrf_token;
      showApp(result.data.role);
    } else if (code === "totp_not_enrolled") {
      showLogin(refusal(result));
    } else if (result.status === 429) {
      showLogin(`失败次数过多，请稍后再试 Too many failed attempts; wait and try again. ${refusal(result)}`);
    } else {
      showLogin(`令牌无效 The token is not valid. ${refusal(result)}`);
    }
  }

  async function logout() {
    await api("DELETE", "/console/session");
    showLogin("已退出 Logged out");
  }

  async function resume() {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    const result = await api("GET", "/console/session");
    if (result.status === 200) {
      csrf = result.data.csrf_token;
      showApp(result.data.role);
    } else {
      showLogin("");
    }
  }

  function pageError(message) {
    const banner = $("page-error");
    banner.textContent = message || "";
    banner.hidden = !message;
  }

  document.addEventListener("DOMContentLoaded", resume);

  return {api, refusal, text, el, when, pageError, $, onReady: (fn) => starters.push(fn), role: () => role};
})();

const STATE_TEXT = {
  online: "正常 online", offline: "离线 offline", no_device: "未连接 no device", busy: "忙 busy",
  hardware_error: "硬件故障 hardware error", user_error: "需处理 needs attention",
};
// Device names as the kiosk app reports them (its settings names), in words; an unknown name shows as sent.
const DEVICE_TEXT = {
  id_reader: "身份证阅读器 ID card reader", printer: "打印机 Receipt printer",
  ssc_reader: "社保卡读卡器 Social security card reader", camera: "人像摄像头 Face camera",
  document_camera: "高拍仪 Document camera", qr_camera: "二维码摄像头 QR camera",
};
const deviceText = (name) => DEVICE_TEXT[name] ? `${DEVICE_TEXT[name]} (${name})` : name;
