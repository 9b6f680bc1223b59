/* One ticket: its details, deadlines with the 督办 light, its history as a timeline in Chinese, its merged tickets,
 * and one button for each of the allowed_actions the API returns, each opening its form. */
import {
  $, ApiError, clear, clearErrors, el, fmtShort, fmtTime, get, label, lbl, loadRef, post, remaining,
  showErrors, state, ticketUrl, toast, unitName, autocomplete, today, wireForm,
} from "./core.js";

export const OPEN = ["new", "pending_dispatch", "assigned", "refuse_review", "in_progress"];

export function isOverdue(t) {
  return OPEN.includes(t.status.code) && t.deadlines.resolve_due_at && Date.parse(t.deadlines.resolve_due_at) < Date.now();
}

/** The deadline of the ticket's current step: 签收 while it waits to be signed for, else 办结. */
export function currentDue(t) {
  if (t.status.code === "assigned" && t.deadlines.accept_due_at) return { kind: "签收", at: t.deadlines.accept_due_at };
  if (OPEN.includes(t.status.code) && t.deadlines.resolve_due_at) return { kind: "办结", at: t.deadlines.resolve_due_at };
  return null;
}

/** Small badges: 超期, 催办, 督办 light, urgency. */
export function flags(t) {
  const out = [];
  if (t.urgency && t.urgency.code !== "normal") out.push(el("span", { class: "tag urgent" }, lbl(t.urgency)));
  if (isOverdue(t)) out.push(el("span", { class: "tag overdue", "data-flag": "overdue" }, "超期"));
  if (t.deadlines.reminded_at && OPEN.includes(t.status.code)) out.push(el("span", { class: "tag remind", "data-flag": "reminded" }, "催办"));
  if (t.deadlines.supervision) out.push(light(t.deadlines.supervision));
  if (t.work && t.work.pending_refusal) out.push(el("span", { class: "tag wait" }, "退单待审"));
  if (t.work && t.work.pending_extension) out.push(el("span", { class: "tag wait" }, "延期待批"));
  const fb = t.work && t.work.feedback;
  if (fb && t.status.code === "resolved" && (fb.satisfaction.code === "unsatisfied" || fb.solved === false)) {
    out.push(el("span", { class: "tag overdue", "data-flag": "unsatisfied" }, "回访不满意"));
  }
  return out;
}

export function light(supervision) {
  const code = supervision ? supervision.code : "none";
  return el("span", { class: "light " + code, "data-flag": "supervision", "data-level": code },
    el("i", { "aria-hidden": "true" }), supervision ? lbl(supervision) : "未督办");
}

// ---------------------------------------------------------------- the page of one ticket

/** Load and draw ticket `id` into `box`; opts.onChange(ticket) after an action succeeded. */
export async function showTicket(box, id, opts) {
  opts = opts || {};
  box.dataset.loading = String(id);
  clear(box).appendChild(el("div", { class: "loading" }, "正在加载工单…"));
  await loadRef(["refusal_reasons", "satisfactions", "supervision_levels", "units", "counties", "categories",
    "request_types", "towns", "routing_rules"]);
  let t;
  try {
    t = await get("tickets/" + id);
  } catch (e) {
    if (box.dataset.loading !== String(id)) return null;
    clear(box).appendChild(el("div", { class: "empty" }, e.status === 404 ? "未找到该工单，或无权查看。" : e.message));
    return null;
  }
  if (box.dataset.loading !== String(id)) return null; // another ticket was asked for meanwhile
  renderTicket(box, t, opts);
  return t;
}

export function renderTicket(box, t, opts) {
  clear(box);
  box.dataset.ticketId = t.id;
  const reload = async (changed) => {
    const fresh = await showTicket(box, t.id, Object.assign({}, opts, { autoAction: null }));
    if (opts.onChange) opts.onChange(fresh || changed);
  };
  const head = el("div", { class: "t-head" },
    el("div", { class: "t-number", "data-ticket-number": t.number }, t.number),
    el("span", { class: "status s-" + t.status.code, "data-status": t.status.code }, lbl(t.status)),
    flags(t));
  const title = el("h2", { class: "t-title" }, t.title);
  const facts = el("dl", { class: "facts" },
    fact("企业", [t.enterprise.name, t.enterprise.uscc ? el("small", null, " " + t.enterprise.uscc) : null]),
    fact("联系人", (t.contact.name || "—") + "  " + (t.contact.phone || "")),
    fact("区县 / 镇街", lbl(t.county) + " / " + lbl(t.town)),
    fact("渠道", lbl(t.channel)),
    fact("问题分类", lbl(t.category, "未分类")),
    fact("诉求类型", lbl(t.request_type) + " · " + lbl(t.urgency)),
    fact("承办单位", unitName(t.lead_unit)),
    fact("协办单位", t.assisting_units.length ? t.assisting_units.map(unitName).join("、") : "—"),
    fact("登记单位", t.registered_by_unit ? unitName(t.registered_by_unit) : "96666热线"),
    fact("受理时间", fmtTime(t.received_at)));
  const desc = el("section", { class: "card" }, el("h3", null, "问题描述"), el("p", { class: "desc" }, t.description));
  const actions = el("section", { class: "card actions-card" }, el("h3", null, "可执行操作"));
  const bar = el("div", { class: "action-bar", "data-actions": t.allowed_actions.map((a) => a.code).join(" ") });
  const formBox = el("div", { class: "action-form-box" });
  if (!t.allowed_actions.length) bar.appendChild(el("span", { class: "muted" }, "当前没有您可执行的操作。"));
  for (const a of t.allowed_actions) {
    bar.appendChild(el("button", { type: "button", class: "btn act-" + a.code, "data-action": a.code,
      onclick: () => openForm(formBox, t, a, reload, opts) }, a.label));
  }
  actions.append(bar, formBox);
  const dispatching = ["new", "pending_dispatch", "refuse_review"].includes(t.status.code);
  const route = routing(t, opts);
  append(box, [head, title, el("div", { class: "t-grid" },
    el("div", { class: "t-main" }, notices(t), dispatching ? route : null, actions, desc, facts, work(t),
      dispatching ? null : route, merged(t)),
    el("div", { class: "t-side" }, deadlines(t), timeline(t)))]);
  if (opts.autoAction && t.allowed_actions.some((a) => a.code === opts.autoAction)) {
    openForm(formBox, t, t.allowed_actions.find((a) => a.code === opts.autoAction), reload, opts);
  }
}

function append(node, kids) { kids.forEach((k) => node.appendChild(k)); }

/** What waits for a decision, above everything: a 退单 or 延期 request, a bad 回访. */
function notices(t) {
  const w = t.work, out = [];
  if (w.pending_refusal) {
    out.push(el("div", { class: "notice", "data-notice": "refusal" }, el("b", null, "退单申请："),
      label("refusal_reasons", w.pending_refusal.reason) + (w.pending_refusal.note ? "。" + w.pending_refusal.note : "") +
      (w.pending_refusal.unit ? "（" + label("units", w.pending_refusal.unit) + "）" : "")));
  }
  if (w.pending_extension) {
    out.push(el("div", { class: "notice", "data-notice": "extension" }, el("b", null, "延期申请："),
      "办结时限延至 " + fmtTime(w.pending_extension.new_due_at) + (w.pending_extension.reason ? "。理由：" + w.pending_extension.reason : "")));
  }
  if (w.opinion && t.status.code === "resolved") {
    out.push(el("div", { class: "notice info", "data-notice": "opinion" }, el("b", null, "办理意见："), w.opinion));
  }
  const fb = w.feedback;
  if (fb && t.status.code === "resolved" && (fb.satisfaction.code === "unsatisfied" || fb.solved === false)) {
    out.push(el("div", { class: "notice bad", "data-notice": "feedback" }, el("b", null, "回访结果："),
      lbl(fb.satisfaction) + "，" + (fb.solved ? "已解决" : "未解决") + "：由派单员决定重办或说明理由归档。"));
  }
  return out.length ? el("div", { class: "notices" }, out) : null;
}

function fact(k, v) { return el("div", { class: "fact" }, el("dt", null, k), el("dd", null, v)); }

function deadlines(t) {
  const d = t.deadlines;
  const row = (name, at, doneAt) => el("div", { class: "due-row" + (!doneAt && at && Date.parse(at) < Date.now() && OPEN.includes(t.status.code) ? " late" : "") },
    el("span", { class: "k" }, name), el("span", { class: "v" }, fmtTime(at)),
    el("span", { class: "r" }, doneAt ? "已完成 " + fmtShort(doneAt) : OPEN.includes(t.status.code) ? remaining(at) : ""));
  return el("section", { class: "card deadlines", "data-section": "deadlines" }, el("h3", null, "时限"),
    row("签收时限", d.accept_due_at, t.work.accepted_at),
    row("办结时限", d.resolve_due_at, t.work.resolved_at),
    el("div", { class: "due-row" }, el("span", { class: "k" }, "督办"), light(d.supervision)),
    d.reminded_at ? el("div", { class: "due-row" }, el("span", { class: "k" }, "催办"), el("span", { class: "v" }, fmtTime(d.reminded_at))) : null,
    d.provisional ? el("p", { class: "muted small" }, "时限按尚未公布的节假日安排暂算，公布后将重算。") : null);
}

function work(t) {
  const w = t.work;
  const box = el("section", { class: "card" }, el("h3", null, "办理情况"));
  const rows = [];
  if (w.opinion) rows.push(fact("办理意见", w.opinion));
  if (w.feedback) rows.push(fact("回访", lbl(w.feedback.satisfaction) + " · " + (w.feedback.solved ? "已解决" : "未解决") +
    " · " + fmtShort(w.feedback.at)));
  if (w.reopen_count) rows.push(fact("重办次数", String(w.reopen_count)));
  if (!rows.length) return el("span");
  box.appendChild(el("dl", { class: "facts" }, rows));
  return box;
}

function merged(t) {
  if (!t.merged_into && !(t.merged_tickets || []).length) return el("span");
  const box = el("section", { class: "card", "data-section": "merged" }, el("h3", null, "并单"));
  if (t.merged_into) box.appendChild(el("p", null, "已并入 ", el("a", { href: ticketUrl(t.merged_into.id) }, t.merged_into.number)));
  if ((t.merged_tickets || []).length) {
    box.appendChild(el("p", null, "并入本单的工单："));
    box.appendChild(el("ul", { class: "links" }, t.merged_tickets.map((m) => el("li", null, el("a", { href: ticketUrl(m.id) }, m.number)))));
  }
  return box;
}

// ---------------------------------------------------------------- routing: the rule's reason, the trace, the suggestion

/** A rule by what it does (its description), once the routing_rules list is loaded; else its id. */
function ruleName(ruleId) {
  const text = label("routing_rules", ruleId);
  return text && text !== ruleId ? text.split("，")[0] : ruleId;
}

export function routeReason(reasons, ruleId) {
  if (!reasons) return ruleId ? "规则：" + ruleName(ruleId) : "";
  const kw = reasons.keywords_hit || [];
  const parts = [];
  if (ruleId) parts.push("规则：" + ruleName(ruleId));
  if (kw.length) parts.push("命中关键词：" + kw.join("、"));
  const cond = reasons.conditions || {};
  for (const k of Object.keys(cond)) if (!k.startsWith("keywords")) parts.push(COND_ZH[k] || k);
  if ((reasons.guards || []).length) parts.push("保护规则：" + reasons.guards.length + " 条");
  return parts.join("；");
}

const COND_ZH = { category: "问题分类相符", request_type: "诉求类型相符", town: "镇街相符", county: "区县相符",
  urgency: "紧急程度相符", channel: "渠道相符", enterprise_tier: "企业梯队相符", enterprise_chain: "产业链相符",
  above_scale: "规上企业相符", registered_by_town_centre: "镇街中心登记", signals: "信号词相符" };
const KEY_ZH = { category: "问题分类", request_type: "诉求类型", town: "镇街", county: "区县", urgency: "紧急程度",
  channel: "渠道", enterprise_tier: "企业梯队", enterprise_chain: "产业链", above_scale: "规上企业",
  registered_by_town_centre: "镇街中心登记", answered_locally: "就地答复" };

/** A rule's failure in Chinese. */
export function failedZh(text) {
  if (!text) return "";
  let m;
  if ((m = /^(\w+): ticket has no \w+$/.exec(text))) return "工单未填" + (KEY_ZH[m[1]] || m[1]);
  if ((m = /^(\w+): ticket has (.+), rule wants (.+)$/.exec(text))) return (KEY_ZH[m[1]] || m[1]) + "不符";
  if ((m = /^signals: \[(.*)\] not in text$/.exec(text))) return "未出现信号词：" + m[1].split(", ").join("、");
  if ((m = /^keywords_all: missing \[(.*)\] in text$/.exec(text))) return "缺少关键词：" + m[1].split(", ").join("、");
  if ((m = /^keywords_any: none of \[(.*)\] in text$/.exec(text))) return "未出现关键词：" + m[1].split(", ").slice(0, 6).join("、");
  if ((m = /^keywords_none: found \[(.*)\] in text$/.exec(text))) return "出现排除词：" + m[1].split(", ").join("、");
  if (/^lead:/.test(text)) return "没有可承办的单位";
  if (/^guard/.test(text)) return "保护规则排除";
  return "条件不符";
}

function routing(t, opts) {
  const dispatching = ["new", "pending_dispatch", "refuse_review"].includes(t.status.code);
  if (state.user.role !== "dispatcher" && !opts.showRouting) return el("span");
  const box = el("section", { class: "card", "data-section": "routing" }, el("h3", null, "派单依据"));
  if (t.routing.rule_id) box.appendChild(el("p", null, "规则派至 ", el("b", null, unitName(t.lead_unit)), "：", routeReason(t.routing.reasons, t.routing.rule_id)));
  else if (t.routing.routed_at) box.appendChild(el("p", null, "未匹配派单规则，待人工派单。"));
  const s = t.routing_suggestion;
  if (s) {
    box.appendChild(el("p", { class: "suggestion", "data-suggested-unit": s.unit ? s.unit.code : "" }, "模型建议：",
      el("b", null, s.unit ? unitName(s.unit) : lbl(s.kind)), "（" + lbl(s.kind) + "，置信度 " + Math.round(s.confidence * 100) + "%）",
      s.disagrees ? el("span", { class: "tag overdue" }, "与规则不一致") : null));
  }
  if (dispatching && state.user.role === "dispatcher") {
    const trace = el("div", { class: "trace" }, el("span", { class: "muted" }, "正在计算规则追踪…"));
    const more = el("details", { class: "trace-box" }, el("summary", null, "规则追踪：按现行规则重新计算，看各条规则为何未匹配"), trace);
    more.addEventListener("toggle", () => { if (more.open && !trace.dataset.done) { trace.dataset.done = "1"; previewTrace(t, trace); } });
    box.appendChild(more);
  }
  return box;
}

async function previewTrace(t, box) {
  try {
    const out = await post("routing/preview", { channel: t.channel.code, category: t.category ? t.category.code : null,
      request_type: t.request_type.code, urgency: t.urgency.code, county: t.county ? t.county.code : null,
      town: t.town ? t.town.code : null, title: t.title, description: t.description,
      registered_by_town_centre: !!(t.registered_by_unit && /^tc\./.test(t.registered_by_unit.code)) });
    clear(box);
    const d = out.decision;
    box.appendChild(el("p", null, d.matched ? ["当前规则将派至 ", el("b", null, label("units", d.lead_unit)), "（", routeReason(d.reasons, d.rule_id), "）"]
      : "当前规则仍无匹配。"));
    const near = out.trace.filter((r) => !r.matched).slice(0, 8);
    box.appendChild(el("p", { class: "muted small" }, "优先级最高的 " + near.length + " 条未匹配规则："));
    box.appendChild(el("ul", { class: "trace-list" }, near.map((r) => el("li", null, el("code", null, r.rule_id), " ", failedZh(r.failed)))));
  } catch (e) {
    clear(box).appendChild(el("span", { class: "muted" }, "规则追踪不可用：" + e.message));
  }
}

// ---------------------------------------------------------------- the timeline

const PAYLOAD_ZH = [
  ["reason", "理由"], ["note", "备注"], ["opinion", "意见"], ["answer", "答复"], ["new_due_at", "申请时限"],
  ["resolve_due_at", "办结时限"], ["satisfaction", "满意度"], ["solved", "是否解决"], ["comment", "评价"],
  ["level", "督办"], ["lead_unit", "承办单位"], ["assisting_units", "协办单位"], ["article_title", "引用知识"],
  ["into_number", "并入"], ["from_number", "来自工单"], ["basis_label", "归档依据"], ["attempt", "回访未接通次数"],
  ["refused_by", "退单单位"], ["from_unit", "原承办单位"],
];

function payloadText(key, v) {
  if (v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length)) return null;
  if (key === "reason" && state.ref.refusal_reasons.byCode[v]) return label("refusal_reasons", v);
  if (key === "satisfaction") return label("satisfactions", v);
  if (key === "solved") return v ? "已解决" : "未解决";
  if (key === "level") return label("supervision_levels", v);
  if (key === "lead_unit" || key === "refused_by" || key === "from_unit") return label("units", v);
  if (key === "assisting_units") return v.map((c) => label("units", c)).join("、");
  if (key === "new_due_at" || key === "resolve_due_at") return fmtTime(v);
  if (typeof v === "object") return null;
  return String(v);
}

function timeline(t) {
  const list = el("ol", { class: "timeline", "data-section": "timeline" });
  for (const e of (t.history || []).slice().reverse()) {
    const details = [];
    for (const [key, name] of PAYLOAD_ZH) {
      const text = payloadText(key, e.payload[key]);
      if (text) details.push(el("div", { class: "ev-detail" }, name + "：" + text));
    }
    if (e.kind === "routed" && e.payload.rule_id) details.push(el("div", { class: "ev-detail" }, routeReason(e.payload.reasons, e.payload.rule_id)));
    list.appendChild(el("li", { class: "ev ev-" + e.kind, "data-kind": e.kind },
      el("div", { class: "ev-head" }, el("b", null, e.kind_label),
        e.to_status && e.from_status && e.from_status.code !== e.to_status.code ? el("span", { class: "muted" }, " → " + lbl(e.to_status)) : null),
      el("div", { class: "ev-meta" }, fmtTime(e.at) + " · " + actorZh(e.actor) + (e.unit ? " · " + unitName(e.unit) : "")),
      details));
  }
  return el("section", { class: "card" }, el("h3", null, "办理记录"), list);
}

function actorZh(actor) {
  if (!actor) return "";
  if (actor.startsWith("system")) return "系统";
  return actor;
}

// ---------------------------------------------------------------- action forms

function note(name, text) { return { name: name || "note", label: text || "备注", type: "textarea", rows: 2 }; }

const FORMS = {
  dispatch: { path: "dispatch", ok: "已派单", fields: [{ name: "lead_unit", label: "承办单位", type: "unit", required: true, suggest: true },
    { name: "assisting_units", label: "协办单位", type: "units" }, note("reason", "派单说明")] },
  accept: { path: "accept", ok: "已签收", submit: "确认签收", fields: [{ name: "note", label: "签收备注", type: "text" }] },
  refuse: { path: "refuse", ok: "已提交退单", submit: "提交退单", fields: [{ name: "reason", label: "退单理由", type: "select", list: "refusal_reasons", required: true },
    note("note", "退单说明")] },
  approve_refusal: { path: "refusal/approve", ok: "已同意退单", submit: "同意退单", fields: [
    { name: "lead_unit", label: "改派至（留空则退回待派单）", type: "unit", suggest: true },
    { name: "assisting_units", label: "协办单位", type: "units" }, note("note", "审核意见")] },
  overrule_refusal: { path: "refusal/overrule", ok: "已驳回退单", submit: "驳回退单", fields: [note("note", "驳回理由")] },
  transfer: { path: "transfer", ok: "已改派", submit: "改派", fields: [{ name: "lead_unit", label: "改派至", type: "unit", required: true, suggest: true },
    { name: "assisting_units", label: "协办单位", type: "units" }, note("reason", "改派理由")] },
  assist: { path: "assist", ok: "已提交协办意见", fields: [{ name: "opinion", label: "协办意见", type: "textarea", required: true, rows: 4 }] },
  request_extension: { path: "extension", ok: "已申请延期", submit: "申请延期", fields: [{ name: "new_due_at", label: "申请办结时限", type: "workday", required: true },
    { name: "reason", label: "延期理由", type: "textarea", required: true }] },
  approve_extension: { path: "extension/approve", ok: "已同意延期", fields: [note("note", "审批意见")] },
  deny_extension: { path: "extension/deny", ok: "已驳回延期", fields: [note("note", "审批意见")] },
  resolve: { path: "resolve", ok: "已办结", submit: "办结", fields: [{ name: "template", label: "答复模板", type: "template", into: "opinion" },
    { name: "opinion", label: "办理意见", type: "textarea", required: true, rows: 5 }, { name: "article_id", label: "引用知识", type: "article", into: "opinion" }] },
  instant_resolve: { path: "instant-resolve", ok: "已即时办结", fields: [{ name: "article_id", label: "引用知识", type: "article", into: "answer" },
    { name: "answer", label: "答复内容", type: "textarea", required: true, rows: 5 }] },
  feedback: { path: "feedback", ok: "已记录回访", submit: "保存回访", fields: [{ name: "satisfaction", label: "满意度", type: "radio", list: "satisfactions", required: true },
    { name: "solved", label: "问题是否解决", type: "bool", yes: "已解决", no: "未解决", required: true }, note("comment", "企业评价")] },
  amend_feedback: { path: "feedback/amend", ok: "已更正回访", fields: [{ name: "satisfaction", label: "满意度", type: "radio", list: "satisfactions", required: true },
    { name: "solved", label: "问题是否解决", type: "bool", yes: "已解决", no: "未解决", required: true }, note("comment", "企业评价")] },
  feedback_attempt: { path: "feedback/attempt", ok: "已记录未接通", submit: "记录未接通", fields: [note()] },
  reopen: { path: "reopen", ok: "已重办", submit: "重办", fields: [{ name: "reason", label: "重办理由", type: "textarea", required: true },
    { name: "resolve_days", label: "办结时限（工作日，可不填）", type: "number", min: 0, max: 60 }] },
  close: { path: "close", ok: "已归档", submit: "归档", fields: [note()] },
  close_declined: { path: "close", ok: "已归档", submit: "归档", fixed: { declined: true }, fields: [
    { name: "reason", label: "企业拒绝回访的说明", type: "textarea", required: true }, note()] },
  close_by_decision: { path: "close", ok: "已归档", submit: "归档", fields: [{ name: "reason", label: "归档理由", type: "textarea", required: true }, note()] },
  merge: { path: "merge", ok: "已并单", submit: "并单", fields: [{ name: "into_ticket_id", label: "并入工单号", type: "ticket", required: true }, note("reason", "并单理由")] },
  unmerge: { path: "unmerge", ok: "已撤销并单", fields: [note()] },
  remind: { path: "remind", ok: "已催办", submit: "催办", fields: [note("note", "催办内容")] },
  supervise: { path: "supervise", ok: "已督办", submit: "督办", fields: [{ name: "level", label: "督办等级", type: "radio", list: "supervision_levels", required: true },
    note("note", "督办要求")] },
  reclassify: { path: "reclassify", ok: "已改类", submit: "改类", version: "version", fields: [
    { name: "category", label: "问题分类", type: "select", list: "categories", current: (t) => (t.category ? t.category.code : "") },
    { name: "request_type", label: "诉求类型", type: "select", list: "request_types", current: (t) => t.request_type.code },
    { name: "town", label: "镇街", type: "select", list: "towns", current: (t) => (t.town ? t.town.code : "") },
    { name: "enterprise_id", label: "更正企业（可不填）", type: "enterprise" },
    { name: "reason", label: "改类理由", type: "textarea", required: true }] },
};

export function openForm(box, t, action, reload, opts) {
  const spec = FORMS[action.code];
  clear(box);
  if (!spec) return;
  const form = el("form", { class: "action-form", "data-form": action.code, novalidate: true });
  const readers = [];
  form.appendChild(el("h4", null, action.label));
  form.appendChild(el("div", { class: "form-error", role: "alert", hidden: true }));
  for (const f of spec.fields) {
    const built = buildField(f, t, form, opts);
    form.appendChild(built.node);
    if (built.read) readers.push([f, built.read]);
  }
  const submit = el("button", { type: "submit", class: "btn primary", "data-submit": action.code }, spec.submit || action.label);
  form.appendChild(el("div", { class: "form-buttons" }, submit,
    el("button", { type: "button", class: "btn ghost", onclick: () => clear(box) }, "取消")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = Object.assign({ [spec.version || "expected_version"]: t.version }, spec.fixed || {});
    const missing = [];
    for (const [f, read] of readers) {
      const v = await read();
      if (f.current && v === f.current(t)) continue; // unchanged: left as it is
      if (v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length)) {
        if (f.required) missing.push({ field: f.name, code: "missing", message: "required", message_zh: "必填项" });
        continue;
      }
      body[f.name] = v;
    }
    if (missing.length) { showErrors(form, new ApiError(422, { detail: missing })); return; }
    submit.disabled = true;
    try {
      const out = await post("tickets/" + t.id + "/" + spec.path, body);
      toast(spec.ok + "：" + out.number);
      clear(box);
      await reload(out);
    } catch (e) {
      showErrors(form, e);
    } finally {
      submit.disabled = false;
    }
  });
  box.appendChild(form);
  wireForm(form);
  const first = form.querySelector("input, select, textarea");
  if (first) first.focus();
}

function wrap(f, control, extra) {
  return el("div", { class: "field" }, el("label", null, f.label + (f.required ? " *" : ""), control), extra || null);
}

function buildField(f, t, form, opts) {
  switch (f.type) {
    case "text": { const i = el("input", { "data-field": f.name, name: f.name }); return { node: wrap(f, i), read: () => i.value.trim() }; }
    case "number": { const i = el("input", { type: "number", min: f.min, max: f.max, "data-field": f.name, name: f.name });
      return { node: wrap(f, i), read: () => (i.value === "" ? null : Number(i.value)) }; }
    case "textarea": { const i = el("textarea", { rows: f.rows || 3, "data-field": f.name, name: f.name });
      return { node: wrap(f, i), read: () => i.value.trim() }; }
    case "select": { const s = el("select", { "data-field": f.name, name: f.name }, el("option", { value: "" }, "请选择"),
      state.ref[f.list].items.map((it) => el("option", { value: it.code }, optionText(f.list, it))));
      if (f.current) s.value = f.current(t);
      return { node: wrap(f, s), read: () => s.value }; }
    case "enterprise": return enterpriseField(f);
    case "radio": {
      const group = el("div", { class: "radios", "data-field": f.name, tabindex: "-1" });
      for (const it of state.ref[f.list].items) {
        group.appendChild(el("label", { class: "radio" }, el("input", { type: "radio", name: f.name, value: it.code }), it.label));
      }
      return { node: el("div", { class: "field" }, el("span", { class: "flabel" }, f.label + (f.required ? " *" : "")), group),
        read: () => { const c = group.querySelector("input:checked"); return c ? c.value : null; } };
    }
    case "bool": {
      const group = el("div", { class: "radios", "data-field": f.name, tabindex: "-1" },
        el("label", { class: "radio" }, el("input", { type: "radio", name: f.name, value: "1" }), f.yes),
        el("label", { class: "radio" }, el("input", { type: "radio", name: f.name, value: "0" }), f.no));
      return { node: el("div", { class: "field" }, el("span", { class: "flabel" }, f.label + (f.required ? " *" : "")), group),
        read: () => { const c = group.querySelector("input:checked"); return c ? c.value === "1" : null; } };
    }
    case "unit": return unitField(f, t);
    case "units": return unitsField(f);
    case "workday": return workdayField(f, t);
    case "template": return templateField(f, form, t);
    case "article": return articleField(f, form);
    case "ticket": return ticketField(f);
    default: return { node: el("span") };
  }
}

function optionText(list, it) {
  if (list === "towns") return label("counties", it.county) + " · " + it.name;
  return it.label || it.name;
}

function enterpriseField(f) {
  const input = el("input", { "data-field": f.name, placeholder: "输入企业名称、信用代码或电话检索" });
  let chosen = null;
  autocomplete(input, async (text) => {
    if (text.length < 2) return [];
    const page = await get("enterprises", { q: text, limit: 8 });
    return page.items.map((e) => ({ label: e.name, sub: [lbl(e.town, ""), e.uscc || "无信用代码"].filter(Boolean).join(" · "), value: e.id }));
  }, (it) => { chosen = it.value; }, { min: 2, delay: 200, onType: () => { chosen = null; } });
  return { node: wrap(f, input), read: () => chosen };
}

export function unitSource() {
  return async (text) => {
    await loadRef(["units", "counties"]);
    const q = text.toLowerCase();
    return state.ref.units.items.filter((u) => u.name.toLowerCase().includes(q) || u.code.includes(q))
      .sort((a, b) => a.name.length - b.name.length)
      .map((u) => ({ label: u.name, sub: u.county ? label("counties", u.county) : u.level === "city" ? "市级" : "", value: u.code }));
  };
}

function unitField(f, t) {
  const input = el("input", { "data-field": f.name, placeholder: "输入单位名称检索，如 人社局、柳市镇" });
  let chosen = null;
  const node = wrap(f, input);
  autocomplete(input, unitSource(), (it) => { chosen = it.value; }, { onType: () => { chosen = null; } });
  const s = t.routing_suggestion;
  if (f.suggest && s && s.unit) {
    node.appendChild(el("button", { type: "button", class: "btn small", "data-use-suggestion": s.unit.code,
      onclick: () => { chosen = s.unit.code; input.value = unitName(s.unit); } }, "采用建议：" + unitName(s.unit)));
  }
  return { node, read: () => chosen || (input.value.trim() ? input.value.trim() : null) };
}

function unitsField(f) {
  const chosen = [];
  const chips = el("div", { class: "chips" });
  const input = el("input", { "data-field": f.name, placeholder: "可选，输入检索后回车添加" });
  const draw = () => { clear(chips); chosen.forEach((c, i) => chips.appendChild(el("span", { class: "chip" }, label("units", c),
    el("button", { type: "button", "aria-label": "移除", onclick: () => { chosen.splice(i, 1); draw(); } }, "×")))); };
  autocomplete(input, unitSource(), (it) => { if (!chosen.includes(it.value)) chosen.push(it.value); input.value = ""; draw(); }, { fill: false });
  return { node: wrap(f, input, chips), read: () => chosen.slice() };
}

/** A date picker that warns when the day is not a working day (weekends, holidays; 调休 working weekends count). */
function workdayField(f, t) {
  const input = el("input", { type: "date", "data-field": f.name, min: today() });
  const warn = el("div", { class: "warn", "data-warning": f.name, hidden: true });
  const check = async () => {
    warn.hidden = true;
    if (!input.value) return;
    await loadRef(["calendar"]);
    const verdict = workdayVerdict(input.value);
    if (!verdict.working) {
      warn.textContent = "所选日期（" + input.value + "，" + verdict.why + "）不是工作日，延期将被拒绝；请改选工作日，如 " + nextWorkday(input.value) + "。";
      warn.hidden = false;
    } else if (t.deadlines.resolve_due_at && input.value <= t.deadlines.resolve_due_at.slice(0, 10)) {
      warn.textContent = "申请的时限须晚于当前办结时限（" + fmtTime(t.deadlines.resolve_due_at) + "）。";
      warn.hidden = false;
    }
  };
  input.addEventListener("change", check);
  input.addEventListener("input", check);
  return { node: wrap(f, input, warn), read: () => input.value || null };
}

const WEEKDAY = ["周日", "周一", "周二", "周三", "周四", "周五", "周六"];

export function workdayVerdict(day) {
  const cal = state.ref.calendar ? state.ref.calendar.items : [];
  const hit = cal.find((d) => d.date === day);
  const dow = new Date(day + "T00:00:00Z").getUTCDay();
  if (hit) return { working: hit.working, why: hit.working ? "调休上班" : "法定节假日" };
  return { working: dow !== 0 && dow !== 6, why: WEEKDAY[dow] };
}

function nextWorkday(day) {
  const d = new Date(day + "T00:00:00Z");
  for (let i = 0; i < 30; i++) {
    d.setUTCDate(d.getUTCDate() + 1);
    const s = d.toISOString().slice(0, 10);
    if (workdayVerdict(s).working) return s;
  }
  return "";
}

/** A reply template's text with its placeholders filled from the ticket. */
function fillTemplate(body, t) {
  return body.replace(/【企业名称】/g, t.enterprise.name).replace(/【联系人】/g, t.contact.name || "联系人")
    .replace(/【工单号】/g, t.number);
}

function templateField(f, form, t) {
  const sel = el("select", { "data-field": f.name }, el("option", { value: "" }, "正在加载答复模板…"));
  const node = wrap(f, sel);
  const params = { kind: "reply_template", limit: 50 };
  if (state.user.unit) params.unit = state.user.unit;
  get("knowledge", params).then((page) => {
    clear(sel).appendChild(el("option", { value: "" }, page.items.length ? "选择模板填入办理意见" : "本单位暂无答复模板"));
    page.items.forEach((a) => sel.appendChild(el("option", { value: String(a.id) }, a.title)));
    sel.onchange = () => {
      const a = page.items.find((x) => String(x.id) === sel.value);
      const target = form.querySelector('[data-field="' + f.into + '"]');
      if (a && target) target.value = fillTemplate(a.body, t);
    };
  }).catch(() => { clear(sel).appendChild(el("option", { value: "" }, "答复模板不可用")); });
  return { node, read: null };
}

/** Search the knowledge base and cite an article: its text goes into the answer, its id into article_id. */
export function articleField(f, form, preset) {
  let chosen = preset || null;
  const input = el("input", { "data-field": f.name, placeholder: "检索知识库，回车引用" });
  const cited = el("div", { class: "cited", "data-cited": "" });
  const show = () => {
    clear(cited);
    cited.dataset.cited = chosen ? String(chosen.id) : "";
    if (chosen) cited.append("已引用：", el("b", null, chosen.title), " （第 " + chosen.version + " 版） ",
      el("button", { type: "button", class: "btn small ghost", onclick: () => { chosen = null; show(); } }, "取消引用"));
  };
  autocomplete(input, async (text) => {
    const page = await get("knowledge", { q: text, kind: "article", limit: 8 });
    return page.items.map((a) => ({ label: a.title, sub: lbl(a.category, ""), value: a.id, item: a }));
  }, (it) => {
    chosen = it.item;
    input.value = "";
    const target = form.querySelector('[data-field="' + f.into + '"]');
    if (target && !target.value.trim()) target.value = it.item.body;
    show();
  }, { fill: false, min: 1 });
  show();
  return { node: wrap(f, input, cited), read: () => (chosen ? chosen.id : null), set: (a) => { chosen = a; show(); } };
}

function ticketField(f) {
  const input = el("input", { "data-field": f.name, placeholder: "如 20261201-0000001" });
  const hint = el("div", { class: "muted small" });
  let id = null, looked = "";
  const lookup = async () => {
    const v = input.value.trim();
    if (v === looked) return id;
    looked = v;
    id = null;
    hint.textContent = "";
    if (!v) return null;
    try {
      const t = await get("tickets/by-number/" + encodeURIComponent(v));
      id = t.id;
      hint.textContent = t.title + " · " + lbl(t.status);
    } catch (e) {
      hint.textContent = e.status === 404 ? "未找到该工单" : e.message;
    }
    return id;
  };
  input.addEventListener("change", lookup);
  return { node: wrap(f, input, hint), read: lookup };
}

