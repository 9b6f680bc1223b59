/* Work lists with tabs, a list on the left and the selected ticket on the right.
 *
 * 我的工单 (/console/queue): the tabs of GET queues/summary for the logged-in user (a handler: 待签收, 办理中, 待审核,
 * 协办, 即将超期, 已办结), each with its count, listed with the tab's own query, sorted by deadline.
 * 派单台 (/console/dispatch): the dispatcher's tabs (待派单 with each ticket's routing reason and the model's
 * suggestion, 退单审核, 延期审批, 超期 with 催办 and 督办, 待回访, 已办结 with 重办).
 * 回访 (/console/feedback): resolved tickets awaiting 回访; the feedback form opens with the ticket, then 归档.
 */
import { $$, clear, el, fmtShort, get, lbl, loadRef, remaining, state, unitName } from "./core.js";
import { currentDue, flags, isOverdue, routeReason, showTicket } from "./ticket.js";

// Each tab's list is sorted by the deadline of its step (the summary's query may name its own sort).
const TAB_SORT = { to_accept: "accept_due_at", resolved: "-received_at", registered: "-received_at", feedback: "received_at" };
// The form a tab's ticket opens with, when the user may take that step.
const TAB_ACTION = { to_accept: "accept", to_dispatch: "dispatch", extension_decision: "approve_extension", feedback: "feedback" };

export function startQueue(main) { return new Queue(main, { title: "我的工单" }).start(); }
export function startDispatch(main) { return new Queue(main, { title: "派单台" }).start(); }
export function startFeedback(main) {
  return new Queue(main, { title: "回访", only: ["feedback"], extra: [{ key: "closed", label: "已归档", query: "status=closed" }] }).start();
}

class Queue {
  constructor(main, opts) {
    this.opts = opts;
    this.tabs = el("div", { class: "tabs", role: "tablist", id: "tabs" });
    this.list = el("div", { class: "qlist", id: "qlist" });
    this.more = el("button", { type: "button", class: "btn", hidden: true, onclick: () => this.load(true) }, "加载更多");
    this.detail = el("div", { class: "qdetail", id: "qdetail" }, el("div", { class: "empty" }, "在左侧选择一件工单"));
    main.appendChild(el("div", { class: "queue" },
      el("div", { class: "qhead" }, el("h2", null, opts.title), this.tabs),
      el("div", { class: "qbody" }, el("div", { class: "qleft" }, this.list, this.more), this.detail)));
    this.current = null;
    this.selected = null;
    this.suggestions = {};
  }

  async start() {
    await loadRef(["refusal_reasons", "satisfactions", "supervision_levels", "units", "routing_rules"]);
    await this.refreshTabs();
    const wanted = new URLSearchParams(location.search).get("tab");
    const first = this.summary.find((t) => t.key === wanted) || this.summary.find((t) => t.count) || this.summary[0];
    if (first) await this.open(first.key);
  }

  async refreshTabs() {
    let tabs = [];
    const out = await get("queues/summary");
    tabs = out.tabs;
    if (this.opts.only) tabs = tabs.filter((t) => this.opts.only.includes(t.key));
    this.summary = tabs.concat(this.opts.extra || []);
    clear(this.tabs);
    for (const t of this.summary) {
      this.tabs.appendChild(el("button", { type: "button", role: "tab", class: "tab" + (t.key === this.current ? " active" : ""),
        "data-tab": t.key, "aria-selected": t.key === this.current ? "true" : "false", onclick: () => this.open(t.key) },
      t.label, t.count !== undefined ? el("span", { class: "count", "data-count": t.count }, String(t.count)) : null));
    }
  }

  async open(key) {
    this.current = key;
    $$(".tab", this.tabs).forEach((b) => {
      b.classList.toggle("active", b.dataset.tab === key);
      b.setAttribute("aria-selected", b.dataset.tab === key ? "true" : "false");
    });
    const url = new URL(location.href);
    url.searchParams.set("tab", key);
    history.replaceState(null, "", url.pathname + url.search);
    await this.load(false);
  }

  tabQuery() {
    const tab = this.summary.find((t) => t.key === this.current);
    const params = new URLSearchParams(tab.query || "");
    if (!params.has("sort")) params.set("sort", TAB_SORT[tab.key] || "resolve_due_at");
    params.set("limit", "50");
    return params;
  }

  async load(more, keep) {
    const params = this.tabQuery();
    this.list.dataset.tab = "";
    if (more && this.cursor) params.set("cursor", this.cursor);
    if (!more) clear(this.list).appendChild(el("div", { class: "loading" }, "正在加载…"));
    let page;
    try {
      page = await get("tickets?" + params.toString());
    } catch (e) {
      clear(this.list).appendChild(el("div", { class: "form-error" }, e.message));
      return;
    }
    if (this.current === "to_dispatch") await this.loadSuggestions();
    if (!more) clear(this.list);
    for (const t of page.items) this.list.appendChild(this.item(t));
    if (!this.list.children.length) this.list.appendChild(el("div", { class: "empty" }, "此栏暂无工单"));
    this.cursor = page.next_cursor;
    this.more.hidden = !this.cursor;
    const again = this.selected && this.list.querySelector('[data-ticket-id="' + this.selected + '"]');
    if (again) again.classList.add("selected");
    this.list.dataset.tab = this.current;
    const first = this.list.querySelector(".qitem");
    if (!more && !again && !keep && first) this.select(+first.dataset.ticketId, first); // the first of the tab
  }

  async loadSuggestions() {
    try {
      const page = await get("routing/suggestions", { status: "pending_dispatch", limit: 100 });
      for (const s of page.items) this.suggestions[s.id] = s.suggestion;
    } catch (e) { /* the list stands without them */ }
  }

  item(t) {
    const due = currentDue(t);
    const late = isOverdue(t) || (due && Date.parse(due.at) < Date.now());
    const cls = ["qitem", late ? "late" : "", t.deadlines.reminded_at ? "reminded" : "",
      t.deadlines.supervision ? "sup-" + t.deadlines.supervision.code : ""].filter(Boolean).join(" ");
    const node = el("div", { class: cls, role: "button", tabindex: "0", "data-ticket-id": t.id, "data-number": t.number,
      onclick: () => this.select(t.id, node), onkeydown: (e) => { if (e.key === "Enter") this.select(t.id, node); } },
    el("div", { class: "qline" }, el("b", { class: "num" }, t.number), el("span", { class: "status s-" + t.status.code }, lbl(t.status)), flags(t)),
    el("div", { class: "qtitle" }, t.title),
    el("div", { class: "muted small" }, [t.enterprise.name, lbl(t.town, ""), t.lead_unit ? unitName(t.lead_unit) : ""].filter(Boolean).join(" · ")),
    el("div", { class: "qdue" + (late ? " late" : "") }, due ? due.kind + "时限 " + fmtShort(due.at) + "（" + remaining(due.at) + "）" : "受理 " + fmtShort(t.received_at)));
    if (this.current === "overdue" && ["dispatcher", "leader"].includes(state.user.role)) {
      node.appendChild(el("div", { class: "qbuttons" },
        el("button", { type: "button", class: "btn small", "data-quick": "remind",
          onclick: (e) => { e.stopPropagation(); this.select(t.id, node, "remind"); } }, "催办"),
        el("button", { type: "button", class: "btn small", "data-quick": "supervise",
          onclick: (e) => { e.stopPropagation(); this.select(t.id, node, "supervise"); } }, "督办")));
    }
    if (this.current === "to_dispatch") {
      const s = this.suggestions[t.id];
      node.appendChild(el("div", { class: "small route-why" }, t.routing.rule_id ? routeReason(t.routing.reasons, t.routing.rule_id)
        : t.routing.routed_at ? "未匹配派单规则" : "等待规则派单"));
      if (s) node.appendChild(el("div", { class: "small suggestion", "data-suggested-unit": s.unit ? s.unit.code : "" },
        "建议：" + (s.unit ? unitName(s.unit) : lbl(s.kind)) + "（" + Math.round(s.confidence * 100) + "%）"));
    }
    return node;
  }

  async select(id, node, action) {
    this.selected = id;
    $$(".qitem", this.list).forEach((n) => n.classList.toggle("selected", n === node));
    await showTicket(this.detail, id, { autoAction: action || TAB_ACTION[this.current], onChange: () => this.changed() });
  }

  async changed() {
    await this.refreshTabs();
    await this.load(false, true); // the ticket just worked on stays on the right
  }
}
