/* 一表通查: search the one table by ticket number, enterprise, phone or text, with the list filters; and the page
 * of one ticket (/console/ticket?id=… or ?number=…). */
import { $, clear, el, fmtShort, get, go, lbl, loadRef, refSelect, remaining, screenUrl, state, ticketUrl, unitName } from "./core.js";
import { currentDue, flags, showTicket } from "./ticket.js";

const NUMBER = /^\d{8}-\d{4,}$/;
const LISTS = ["statuses", "channels", "counties", "towns", "categories", "request_types", "urgencies", "supervision_levels"];
const FILTERS = ["q", "status", "channel", "county", "town", "category", "request_type", "urgency", "supervision", "overdue",
  "created_from", "created_to", "sort"];
const SORTS = [["-received_at", "受理时间（新→旧）"], ["received_at", "受理时间（旧→新）"], ["resolve_due_at", "办结时限（近→远）"],
  ["accept_due_at", "签收时限（近→远）"]];

export async function startSearch(main) {
  await loadRef(LISTS);
  const params = new URLSearchParams(location.search);
  const f = {};
  f.q = el("input", { id: "s-q", name: "q", "data-field": "q", placeholder: "工单号、企业名称、信用代码、电话、联系人或关键词" });
  f.status = refSelect("statuses", { name: "status", "data-field": "status" }, "全部状态");
  f.channel = refSelect("channels", { name: "channel", "data-field": "channel" }, "全部渠道");
  f.county = refSelect("counties", { name: "county", "data-field": "county" }, "全部区县");
  f.town = refSelect("towns", { name: "town", "data-field": "town" }, "全部镇街");
  f.category = refSelect("categories", { name: "category", "data-field": "category" }, "全部分类");
  f.request_type = refSelect("request_types", { name: "request_type", "data-field": "request_type" }, "全部诉求类型");
  f.urgency = refSelect("urgencies", { name: "urgency", "data-field": "urgency" }, "全部紧急程度");
  f.supervision = refSelect("supervision_levels", { name: "supervision", "data-field": "supervision" }, "督办：全部");
  f.overdue = el("select", { name: "overdue", "data-field": "overdue" }, el("option", { value: "" }, "超期：全部"),
    el("option", { value: "true" }, "仅超期"), el("option", { value: "false" }, "未超期"));
  f.created_from = el("input", { type: "date", name: "created_from", "data-field": "created_from", title: "受理日期起" });
  f.created_to = el("input", { type: "date", name: "created_to", "data-field": "created_to", title: "受理日期止（不含）" });
  f.sort = el("select", { name: "sort", "data-field": "sort" }, SORTS.map(([v, t]) => el("option", { value: v }, t)));
  f.county.addEventListener("change", () => {
    const c = f.county.value;
    Array.from(f.town.options).forEach((o) => { o.hidden = !!(c && o.value && state.ref.towns.byCode[o.value].county !== c); });
    if (c && f.town.value && state.ref.towns.byCode[f.town.value].county !== c) f.town.value = "";
  });
  for (const k of FILTERS) if (params.get(k) && f[k]) f[k].value = params.get(k);

  const form = el("form", { id: "search-form", class: "card filters", role: "search" },
    el("div", { class: "form-error", role: "alert", hidden: true }),
    el("div", { class: "row" }, el("div", { class: "field grow" }, f.q), el("button", { type: "submit", class: "btn primary" }, "查询"),
      el("button", { type: "button", class: "btn ghost", onclick: () => go("search") }, "重置")),
    el("div", { class: "row wrap" }, f.status, f.channel, f.county, f.town, f.category, f.request_type, f.urgency, f.supervision,
      f.overdue, el("label", { class: "inline" }, "受理 ", f.created_from, " 至 ", f.created_to), f.sort));
  const summary = el("div", { id: "search-summary", class: "muted" });
  const table = el("table", { id: "results", class: "grid" },
    el("thead", null, el("tr", null, ["工单号", "标题", "企业", "状态", "承办单位", "当前时限", "受理时间"].map((h) => el("th", null, h)))),
    el("tbody"));
  const more = el("button", { type: "button", id: "more", class: "btn", hidden: true }, "加载更多");
  main.appendChild(el("div", { class: "search" }, form, el("section", { class: "card" }, summary, table, more)));

  let cursor = null, shown = 0;
  const query = () => {
    const out = {};
    for (const k of FILTERS) if (f[k].value) out[k] = f[k].value;
    if (out.sort === "-received_at") delete out.sort;
    return out;
  };
  const load = async (append) => {
    const p = query();
    const tbody = table.tBodies[0];
    summary.dataset.done = "";
    if (!append) { clear(tbody); shown = 0; cursor = null; summary.textContent = "正在查询…"; }
    const q = (p.q || "").trim();
    if (!append && NUMBER.test(q)) {
      try {
        const t = await get("tickets/by-number/" + encodeURIComponent(q));
        location.assign(ticketUrl(t.id));
        return;
      } catch (e) { /* not a number we know: search the text */ }
    }
    let page;
    try {
      page = await get("tickets", Object.assign({ limit: 50 }, p, cursor ? { cursor } : {}));
    } catch (e) {
      const fields = e.fields || [];
      summary.textContent = "查询失败：" + (fields.length ? fields.map((x) => x.field + " " + (x.message_zh || x.message)).join("；") : e.message);
      summary.dataset.done = "1";
      return;
    }
    for (const t of page.items) tbody.appendChild(row(t));
    shown += page.items.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    summary.textContent = shown ? "已显示 " + shown + " 件" + (cursor ? "（还有更多）" : "") : "没有符合条件的工单";
    summary.dataset.done = "1";
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    history.replaceState(null, "", screenUrl("search", query()));
    load(false);
  });
  for (const k of FILTERS) if (k !== "q" && f[k].tagName === "SELECT") f[k].addEventListener("change", () => form.requestSubmit());
  more.addEventListener("click", () => load(true));
  f.q.focus();
  await load(false);
}

export function row(t) {
  const due = currentDue(t);
  return el("tr", { class: "row-link", "data-ticket-id": t.id, tabindex: "0", onclick: () => location.assign(ticketUrl(t.id)),
    onkeydown: (e) => { if (e.key === "Enter") location.assign(ticketUrl(t.id)); } },
  el("td", null, el("a", { href: ticketUrl(t.id) }, t.number)),
  el("td", null, t.title, " ", flags(t)),
  el("td", null, t.enterprise.name),
  el("td", null, el("span", { class: "status s-" + t.status.code }, lbl(t.status))),
  el("td", null, unitName(t.lead_unit)),
  el("td", { class: due && Date.parse(due.at) < Date.now() ? "late" : null }, due ? due.kind + " " + remaining(due.at) : "—"),
  el("td", null, fmtShort(t.received_at)));
}

export async function startTicket(main) {
  await loadRef(["units"]);
  const params = new URLSearchParams(location.search);
  let id = params.get("id");
  const box = el("div", { id: "ticket", class: "ticket-page" });
  main.appendChild(el("div", { class: "crumbs" }, el("button", { type: "button", class: "btn ghost small", onclick: () => history.back() }, "← 返回"),
    " ", el("a", { href: screenUrl("search") }, "一表通查")));
  main.appendChild(box);
  if (!id && params.get("number")) {
    try { id = (await get("tickets/by-number/" + encodeURIComponent(params.get("number")))).id; } catch (e) { id = null; }
  }
  if (!id) { box.appendChild(el("div", { class: "empty" }, "未找到该工单。")); return; }
  await showTicket(box, id, { showRouting: state.user.role !== "handler" });
}

export function wireQuickFind() {
  const form = $("#quick-find");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("#quick-q").value.trim();
    if (q) go("search", { q });
  });
}
