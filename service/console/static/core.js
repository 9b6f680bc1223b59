/* 涉企问题一表通管 · 工作台: what every screen shares.
 *
 * The API (relative to the page, so the console also works behind a path prefix), the login (the same
 * accounts as the API; the token lives in sessionStorage only), the reference lists with their Chinese labels,
 * small DOM helpers, the navigation, and the field errors of a 422 shown next to the field they name.
 *
 * Kiosks and tests may hand a token over in the URL fragment, /console/queue#token=<bearer token>; the page
 * moves it into sessionStorage and removes it from the address bar at once.
 */
export const TZ = "Asia/Shanghai";
const TOKEN_KEY = "hotline.console.token";
const USER_KEY = "hotline.console.user";
const REF_KEY = "hotline.console.ref.";
export const API = new URL("../api/v1/", location.href).pathname; // /console/<screen> -> /api/v1/

export const state = { token: null, user: null, ref: {} };

// ---------------------------------------------------------------- DOM helpers

export function $(sel, root) { return (root || document).querySelector(sel); }
export function $$(sel, root) { return Array.from((root || document).querySelectorAll(sel)); }

/** el("div", {class: "x", text: "…", onclick: fn}, child, [children], "text") */
export function el(tag, attrs) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "value") node.value = v;
      else if (k === "checked" || k === "selected" || k === "disabled" || k === "hidden") node[k] = !!v;
      else node.setAttribute(k, v === true ? "" : v);
    }
  }
  for (let i = 2; i < arguments.length; i++) append(node, arguments[i]);
  return node;
}

export function append(node, child) {
  if (child === null || child === undefined || child === false) return node;
  if (Array.isArray(child)) { child.forEach((c) => append(node, c)); return node; }
  node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  return node;
}

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

export function debounce(fn, ms) {
  let timer = null;
  return function (...args) {
    clearTimeout(timer);
    timer = setTimeout(() => fn.apply(this, args), ms);
  };
}

export function qs(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === "") continue;
    for (const one of Array.isArray(v) ? v : [v]) parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(one));
  }
  return parts.length ? "?" + parts.join("&") : "";
}

// ---------------------------------------------------------------- time

const dtFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", hour12: false });
const shortFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, month: "2-digit", day: "2-digit", hour: "2-digit",
  minute: "2-digit", hour12: false });
const dayFmt = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" });

export function fmtTime(iso) { return iso ? dtFmt.format(new Date(iso)).replace(/\//g, "-") : "—"; }
export function fmtShort(iso) { return iso ? shortFmt.format(new Date(iso)).replace(/\//g, "-") : "—"; }
export function today() { return dayFmt.format(new Date()); }

/** "剩 2天3小时" / "超期 5小时" for a deadline. */
export function remaining(iso) {
  if (!iso) return "";
  const ms = Date.parse(iso) - Date.now();
  const mins = Math.floor(Math.abs(ms) / 60000);
  const d = Math.floor(mins / 1440), h = Math.floor((mins % 1440) / 60), m = mins % 60;
  const text = d > 0 ? d + "天" + (h ? h + "小时" : "") : h > 0 ? h + "小时" + (m ? m + "分" : "") : m + "分钟";
  return (ms < 0 ? "超期 " : "剩 ") + text;
}

// ---------------------------------------------------------------- API and login

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
  /** The 422's field entries: [{field, message_zh, …}] (empty for other errors). */
  get fields() {
    const d = this.body && this.body.detail;
    return Array.isArray(d) ? d.filter((x) => x && typeof x === "object" && x.field) : [];
  }
}

const STATUS_ZH = { 400: "请求有误", 401: "登录已失效，请重新登录", 403: "无权执行此操作", 404: "未找到",
  409: "当前状态不允许此操作，或工单已被他人修改", 413: "内容过长", 422: "填写有误", 429: "尝试次数过多，请稍后再试",
  503: "服务暂时繁忙，请稍后重试" };

function describe(status, body) {
  const d = body && body.detail;
  if (Array.isArray(d)) return d.map((x) => (x.message_zh || x.message || String(x))).join("；");
  const base = STATUS_ZH[status] || "请求失败（HTTP " + status + "）";
  return typeof d === "string" && status !== 401 ? base + "：" + d : base;
}

export async function api(path, opts) {
  opts = opts || {};
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = "Bearer " + state.token;
  let body = opts.body;
  if (body !== undefined && !(body instanceof URLSearchParams)) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(body);
  }
  const res = await fetch(API + path, { method: opts.method || (body !== undefined ? "POST" : "GET"), headers, body,
    cache: "no-store", credentials: "omit" });
  let data = null;
  const text = await res.text();
  if (text) { try { data = JSON.parse(text); } catch (e) { data = { detail: text }; } }
  if (res.status === 401 && !opts.login) { logout(); throw new ApiError(401, data); }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path, params) => api(path + (params ? qs(params) : ""));
export const post = (path, body) => api(path, { method: "POST", body: body === undefined ? {} : body });

function takeFragmentToken() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  sessionStorage.removeItem(USER_KEY);
  history.replaceState(null, "", location.pathname + location.search);
}

export function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  state.token = null;
  state.user = null;
  showLogin();
}

/** Resolves with the logged-in user once there is one (asks for a login when needed). */
export async function ensureLogin() {
  takeFragmentToken();
  state.token = sessionStorage.getItem(TOKEN_KEY);
  if (state.token) {
    const cached = sessionStorage.getItem(USER_KEY);
    if (cached) { state.user = JSON.parse(cached); return state.user; }
    try {
      state.user = await get("me");
      sessionStorage.setItem(USER_KEY, JSON.stringify(state.user));
      return state.user;
    } catch (e) { if (!(e instanceof ApiError) || e.status !== 401) throw e; }
  }
  return new Promise((resolve) => { loginWaiters.push(resolve); showLogin(); });
}

const loginWaiters = [];

function showLogin() {
  const box = $("#login");
  if (!box) return;
  box.hidden = false;
  $("#app").hidden = true;
  $("#login-username").focus();
}

export function wireLogin() {
  $("#login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = $("#login-error");
    err.textContent = "";
    const form = new URLSearchParams({ username: $("#login-username").value.trim(), password: $("#login-password").value });
    try {
      const out = await api("auth/token", { method: "POST", body: form, login: true });
      state.token = out.access_token;
      state.user = out.user;
      sessionStorage.setItem(TOKEN_KEY, state.token);
      sessionStorage.setItem(USER_KEY, JSON.stringify(state.user));
      $("#login-password").value = "";
      const waiting = loginWaiters.splice(0);
      if (!waiting.length) { location.reload(); return; } // the session ran out mid-way: start the screen again
      $("#login").hidden = true;
      $("#app").hidden = false;
      waiting.forEach((fn) => fn(state.user));
    } catch (e) {
      err.textContent = e.status === 401 ? "用户名或密码错误" : e.message;
    }
  });
}

// ---------------------------------------------------------------- reference lists

/** Load the reference lists a screen needs (cached in sessionStorage for the session). */
export async function loadRef(names) {
  const missing = [];
  for (const name of names) {
    if (state.ref[name]) continue;
    const cached = sessionStorage.getItem(REF_KEY + name);
    if (cached) state.ref[name] = index(JSON.parse(cached));
    else missing.push(name);
  }
  await Promise.all(missing.map(async (name) => {
    const out = await get("reference/" + name);
    sessionStorage.setItem(REF_KEY + name, JSON.stringify(out.items));
    state.ref[name] = index(out.items);
  }));
}

function index(items) {
  const byCode = {};
  for (const it of items) byCode[it.code] = it;
  return { items, byCode };
}

/** The Chinese label of a code in a reference list (the code itself if unknown). */
export function label(list, code) {
  if (code === null || code === undefined || code === "") return "";
  const ref = state.ref[list];
  const item = ref && ref.byCode[code];
  return item ? (item.label || item.name || code) : code;
}

/** A Coded {code, label} as its label. */
export function lbl(coded, fallback) {
  if (!coded) return fallback === undefined ? "—" : fallback;
  return coded.label || coded.name || coded.code;
}

export function unitName(u) { return u ? (u.name || label("units", u.code)) : "—"; }

// ---------------------------------------------------------------- navigation

const SCREENS = {
  intake: { title: "登记", roles: ["operator", "dispatcher", "handler:tc"] },
  dispatch: { title: "派单台", roles: ["dispatcher"] },
  queue: { title: "我的工单", roles: ["operator", "dispatcher", "handler", "leader", "admin"] },
  feedback: { title: "回访", roles: ["operator", "dispatcher"] },
  search: { title: "一表通查", roles: ["operator", "dispatcher", "handler", "leader", "admin"] },
  knowledge: { title: "知识库", roles: ["operator", "dispatcher", "handler", "leader", "admin"] },
  ticket: { title: "工单", roles: ["operator", "dispatcher", "handler", "leader", "admin"], hidden: true },
};
const NAV_ORDER = {
  operator: ["intake", "feedback", "queue", "search", "knowledge"],
  dispatcher: ["dispatch", "intake", "feedback", "search", "knowledge"],
  handler: ["queue", "intake", "search", "knowledge"],
  leader: ["queue", "search", "knowledge"],
  admin: ["queue", "search", "knowledge"],
};

export function screenTitle(name) { return (SCREENS[name] || {}).title || ""; }

export function mayUse(screen, user) {
  const roles = (SCREENS[screen] || {}).roles || [];
  if (roles.includes(user.role)) return true;
  return user.role === "handler" && roles.includes("handler:tc") && isTownCentre(user);
}

export function isTownCentre(user) { return user.role === "handler" && /^tc\./.test(user.unit || ""); }

export function homeScreen(user) {
  return (NAV_ORDER[user.role] || ["search"]).find((s) => mayUse(s, user)) || "search";
}

export function screenUrl(name, params) { return new URL(name + (params ? qs(params) : ""), location.href).href; }

export function go(name, params) { location.assign(screenUrl(name, params)); }

export function ticketUrl(id) { return screenUrl("ticket", { id }); }

export function renderNav(current) {
  const nav = clear($("#nav"));
  for (const name of NAV_ORDER[state.user.role] || []) {
    if (!mayUse(name, state.user) || SCREENS[name].hidden) continue;
    nav.appendChild(el("a", { href: screenUrl(name), class: name === current ? "active" : null,
      "data-screen": name, "aria-current": name === current ? "page" : null }, SCREENS[name].title));
  }
  const u = state.user;
  $("#user-name").textContent = (u.display_name || u.username) + " · " + (u.role_label || u.role) +
    (u.unit_name ? " · " + u.unit_name : "");
}

// ---------------------------------------------------------------- messages and field errors

export function toast(text, kind) {
  const box = $("#toast");
  const item = el("div", { class: "toast " + (kind || "ok"), role: "status" }, text);
  box.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

/** Show an API error in a form: each field's message next to the element with data-field=<field> (or the
 * nearest named parent path), the rest in the form's .form-error box. */
export function showErrors(form, err, root) {
  clearErrors(root || form);
  const general = [];
  const fields = err instanceof ApiError ? err.fields : [];
  for (const f of fields) {
    const target = findField(root || form, f.field);
    const text = f.message_zh || f.message;
    if (target) {
      target.classList.add("invalid");
      const holder = target.closest(".field") || target.parentNode;
      holder.appendChild(el("div", { class: "field-error", "data-error-for": f.field, role: "alert" }, text));
    } else general.push(fieldName(f.field) + "：" + text);
  }
  if (!fields.length) general.push(err.message || String(err));
  if (general.length) {
    let box = $(".form-error", form);
    if (!box) { box = el("div", { class: "form-error", role: "alert" }); form.prepend(box); }
    box.textContent = general.join("；");
    box.hidden = false;
  }
  const first = $(".invalid", root || form);
  if (first && first.focus) first.focus();
}

/** Forms of the console: a field's error goes away once it is edited; Enter in a one-line field moves to the
 * next field instead of submitting (Ctrl+Enter or the button submits). */
export function wireForm(form, root) {
  (root || form).addEventListener("input", (e) => {
    const holder = e.target.closest(".field");
    e.target.classList.remove("invalid");
    if (holder) holder.querySelectorAll(".field-error").forEach((n) => n.remove());
  });
  form.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    const t = e.target;
    if (t.tagName !== "INPUT" || ["submit", "button", "checkbox", "radio"].includes(t.type)) return;
    e.preventDefault();
    const fields = Array.from(form.querySelectorAll("input, select, textarea, button[type=submit]"))
      .filter((n) => !n.disabled && n.offsetParent !== null && n.type !== "hidden");
    const next = fields[fields.indexOf(t) + 1];
    if (next) next.focus();
  });
}

export function clearErrors(form) {
  $$(".field-error", form).forEach((n) => n.remove());
  $$(".invalid", form).forEach((n) => n.classList.remove("invalid"));
  const box = $(".form-error", form);
  if (box) { box.textContent = ""; box.hidden = true; }
}

function findField(form, path) {
  let p = path;
  while (p) {
    const hit = form.querySelector('[data-field="' + CSS.escape(p) + '"]');
    if (hit) return hit;
    p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "";
  }
  return null;
}

const FIELD_ZH = { "enterprise.name": "企业名称", "enterprise.uscc": "统一社会信用代码", "contact.name": "联系人",
  "contact.phone": "联系电话", title: "标题", description: "问题描述", town: "镇街", county: "区县", category: "问题分类",
  request_type: "诉求类型", urgency: "紧急程度", channel: "渠道", body: "内容", expected_version: "版本" };

function fieldName(f) { return FIELD_ZH[f] || f; }

// ---------------------------------------------------------------- autocomplete

/**
 * A text input with a list of choices under it: arrow keys move, Enter or a click picks, Escape closes.
 * source(text) -> Promise<[{label, sub?, value}]>; onPick(item) is called with the chosen item.
 */
export function autocomplete(input, source, onPick, opts) {
  opts = opts || {};
  const list = el("ul", { class: "ac-list", role: "listbox", hidden: true });
  input.setAttribute("autocomplete", "off");
  input.setAttribute("role", "combobox");
  input.after(list);
  let items = [], active = -1, seq = 0;

  function render() {
    clear(list);
    items.forEach((it, i) => list.appendChild(el("li", { role: "option", class: i === active ? "active" : null,
      "aria-selected": i === active ? "true" : "false", onmousedown: (e) => { e.preventDefault(); pick(i); } },
      el("span", { class: "ac-label" }, it.label), it.sub ? el("span", { class: "ac-sub" }, it.sub) : null)));
    list.hidden = items.length === 0;
  }
  function pick(i) {
    const it = items[i];
    if (!it) return;
    items = [];
    render();
    if (opts.fill !== false) input.value = it.label;
    onPick(it);
  }
  const refresh = debounce(async () => {
    const mine = ++seq;
    const text = input.value.trim();
    if (text.length < (opts.min || 1)) { items = []; render(); return; }
    let found = [];
    try { found = await source(text); } catch (e) { found = []; }
    if (mine !== seq) return;
    items = found.slice(0, opts.max || 8);
    active = items.length ? 0 : -1;
    render();
  }, opts.delay === undefined ? 150 : opts.delay);
  input.addEventListener("input", () => { if (opts.onType) opts.onType(); refresh(); });
  input.addEventListener("keydown", (e) => {
    if (list.hidden) return;
    if (e.key === "ArrowDown") { active = Math.min(items.length - 1, active + 1); render(); e.preventDefault(); }
    else if (e.key === "ArrowUp") { active = Math.max(0, active - 1); render(); e.preventDefault(); }
    else if (e.key === "Enter" && active >= 0) { pick(active); e.preventDefault(); e.stopPropagation(); }
    else if (e.key === "Escape") { items = []; render(); }
  });
  input.addEventListener("blur", () => setTimeout(() => { items = []; render(); }, 120));
  return { close: () => { items = []; render(); } };
}

/** Local matching over a reference list: code, label or name contains the text. */
export function refSource(list, filter) {
  return async (text) => {
    const t = text.toLowerCase();
    return state.ref[list].items
      .filter((it) => (!filter || filter(it)) && ((it.label || it.name || "").toLowerCase().includes(t) ||
        it.code.toLowerCase().includes(t)))
      .map((it) => ({ label: it.label || it.name, value: it.code, item: it }));
  };
}

/** A <select> of a reference list (codes shown by their labels), with an optional blank first option. */
export function refSelect(list, attrs, blank, filter) {
  const sel = el("select", attrs);
  if (blank !== undefined && blank !== null) sel.appendChild(el("option", { value: "" }, blank));
  for (const it of state.ref[list].items) {
    if (filter && !filter(it)) continue;
    sel.appendChild(el("option", { value: it.code }, it.label || it.name));
  }
  return sel;
}

/** Start a screen: login, navigation, then the screen's own code (starters: screen name -> start function). */
export async function boot(screen, starters) {
  wireLogin();
  $("#logout").addEventListener("click", () => { logout(); location.reload(); });
  const user = await ensureLogin();
  $("#login").hidden = true;
  $("#app").hidden = false;
  if (!screen) {
    history.replaceState(null, "", screenUrl(homeScreen(user)) + location.search);
    screen = homeScreen(user);
  }
  document.title = screenTitle(screen) + " · 涉企问题一表通管工作台";
  document.body.dataset.screen = screen;
  renderNav(screen);
  const start = starters[screen];
  const main = clear($("#main"));
  if (!mayUse(screen, user)) {
    main.appendChild(el("div", { class: "empty big" }, "“" + screenTitle(screen) + "”不适用于当前账号（" +
      (user.role_label || user.role) + "）。"));
    return;
  }
  try {
    await start(main, user);
  } catch (e) {
    main.appendChild(el("div", { class: "form-error" }, "页面加载失败：" + (e.message || e)));
    throw e;
  }
  document.body.dataset.ready = "1";
}
