/* 登记: the operator's one screen, keyboard first.
 *
 * Opened by a phone system's screen-pop (/console/intake?phone=…) the caller lookup is already done: the known
 * enterprises and contacts of that number are listed, one is picked (or the only one is picked at once), and its
 * recent tickets are shown beside the form. While the title and description are typed, the right column shows
 * possible duplicates, the routing preview with the rule's reason, and knowledge-base suggestions; an article's
 * answer can be cited to resolve the call on the spot (即时办结). The ticket number is shown large once saved.
 *
 * Keys: Enter in the phone field looks the caller up; Ctrl+Enter registers; Alt+J resolves on the spot (即时办结);
 * Esc after saving starts the next call.
 */
import {
  $, $$, ApiError, autocomplete, clear, clearErrors, debounce, el, fmtShort, get, isTownCentre, label, lbl,
  loadRef, post, refSelect, refSource, showErrors, state, ticketUrl, toast, wireForm,
} from "./core.js";
import { articleField, routeReason } from "./ticket.js";

const LISTS = ["towns", "counties", "channels", "categories", "request_types", "urgencies", "routing_rules"];

export async function start(main, user) {
  await loadRef(LISTS);
  const view = new Intake(main, user);
  const phone = new URLSearchParams(location.search).get("phone");
  if (phone) {
    view.f.phone.value = phone;
    await view.lookup(true);
  } else view.f.phone.focus();
}

class Intake {
  constructor(main, user) {
    this.user = user;
    this.enterprise = null; // {id, name, uscc, town, county} picked from a lookup
    this.recent = [];       // that enterprise's recent tickets (for the duplicates check)
    this.seq = 0;
    this.build(main);
  }

  build(main) {
    const f = this.f = {};
    f.phone = el("input", { id: "in-phone", type: "tel", "data-field": "contact.phone", placeholder: "来电号码，回车查询" });
    f.callers = el("div", { id: "callers", class: "callers" });
    f.recent = el("div", { id: "recent-tickets", class: "recent" });
    const left = el("aside", { class: "col col-left" },
      el("section", { class: "card" }, el("h3", null, "来电"),
        el("div", { class: "field" }, el("label", null, "来电号码", f.phone)),
        f.callers),
      el("section", { class: "card" }, el("h3", null, "该企业近期工单"), f.recent));

    f.entName = el("input", { id: "in-enterprise", "data-field": "enterprise.name", placeholder: "企业名称，输入检索" });
    f.entPicked = el("div", { class: "muted small", id: "enterprise-picked" });
    f.uscc = el("input", { id: "in-uscc", "data-field": "enterprise.uscc", placeholder: "可不填", maxlength: "18" });
    f.contact = el("input", { id: "in-contact", "data-field": "contact.name", placeholder: "联系人姓名" });
    f.town = el("input", { id: "in-town", "data-field": "town", placeholder: "镇街，输入检索" });
    f.county = refSelect("counties", { id: "in-county", "data-field": "county" }, "（随镇街）");
    f.channel = refSelect("channels", { id: "in-channel", "data-field": "channel" });
    f.channel.value = isTownCentre(this.user) ? "town_centre" : "hotline_96666";
    f.category = refSelect("categories", { id: "in-category", "data-field": "category" }, "（未分类）");
    f.rtype = refSelect("request_types", { id: "in-request-type", "data-field": "request_type" });
    f.rtype.value = "help";
    f.urgency = refSelect("urgencies", { id: "in-urgency", "data-field": "urgency" });
    f.title = el("input", { id: "in-title", "data-field": "title", placeholder: "一句话概括问题", maxlength: "200" });
    f.desc = el("textarea", { id: "in-description", "data-field": "description", rows: "5", placeholder: "企业反映的具体情况" });
    f.answer = el("textarea", { id: "in-answer", "data-field": "instant_answer", rows: "4", placeholder: "即时办结时：通话中给企业的答复" });
    this.townCode = null;

    const form = this.form = el("form", { id: "intake-form", class: "card intake-form", novalidate: true },
      el("div", { class: "form-error", role: "alert", hidden: true }),
      el("div", { class: "row" }, fieldWrap("企业名称 *", f.entName, f.entPicked, "grow"), fieldWrap("统一社会信用代码", f.uscc)),
      el("div", { class: "row" }, fieldWrap("联系人 *", f.contact), fieldWrap("镇街", f.town), fieldWrap("区县", f.county)),
      el("div", { class: "row" }, fieldWrap("渠道", f.channel), fieldWrap("问题分类", f.category), fieldWrap("诉求类型", f.rtype),
        fieldWrap("紧急程度", f.urgency)),
      fieldWrap("标题 *", f.title),
      fieldWrap("问题描述 *", f.desc),
      el("details", { id: "instant-box", class: "instant" }, el("summary", null, "即时办结（通话中已答复）"),
        el("div", { id: "instant-article" }), fieldWrap("答复内容", f.answer)),
      el("div", { class: "form-buttons" },
        el("button", { type: "submit", id: "btn-register", class: "btn primary big" }, "登记 (Ctrl+Enter)"),
        el("button", { type: "button", id: "btn-instant", class: "btn big", onclick: () => this.save(true) }, "即时办结 (Alt+J)"),
        el("button", { type: "button", class: "btn ghost", onclick: () => this.reset() }, "清空")));
    this.article = articleField({ name: "instant_answer_article_id", label: "引用知识", into: "instant_answer" }, form);
    $("#instant-article", form).appendChild(this.article.node);

    this.result = el("section", { id: "intake-result", class: "result", hidden: true });
    const middle = el("div", { class: "col col-mid" }, this.result, form);

    this.dups = el("div", { id: "live-duplicates" }, el("p", { class: "muted" }, "输入标题后显示"));
    this.route = el("div", { id: "live-routing" }, el("p", { class: "muted" }, "输入标题后显示"));
    this.kb = el("div", { id: "live-knowledge" }, el("p", { class: "muted" }, "输入标题后显示"));
    const right = el("aside", { class: "col col-right" },
      el("section", { class: "card" }, el("h3", null, "可能重复"), this.dups),
      el("section", { class: "card" }, el("h3", null, "派单预览"), this.route),
      el("section", { class: "card" }, el("h3", null, "知识库建议"), this.kb));
    this.root = el("div", { class: "intake" }, left, middle, right);
    main.appendChild(this.root);
    wireForm(form, this.root);

    f.phone.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); this.lookup(false); } });
    autocomplete(f.entName, async (text) => {
      if (text.length < 2) return [];
      const page = await get("enterprises", { q: text, limit: 8 });
      return page.items.map((it) => ({ label: it.name, sub: [lbl(it.town, ""), it.uscc || "无信用代码",
        "在办 " + it.open_tickets + " / 共 " + it.total_tickets].filter(Boolean).join(" · "), value: it.id, item: it }));
    }, (it) => this.pickEnterprise(it.item, null), { min: 2, delay: 200, onType: () => this.unpick() });
    autocomplete(f.town, refSource("towns"), (it) => this.setTown(it.value), { onType: () => { this.townCode = null; } });
    f.town.addEventListener("change", () => {
      const hit = state.ref.towns.items.find((t) => t.name === f.town.value.trim());
      this.setTown(hit ? hit.code : null);
    });
    const live = debounce(() => this.live(), 350);
    for (const input of [f.title, f.desc]) input.addEventListener("input", live);
    for (const sel of [f.category, f.rtype, f.urgency, f.channel, f.county]) sel.addEventListener("change", live);
    this.liveNow = live;
    form.addEventListener("submit", (e) => { e.preventDefault(); this.save(false); });
    this.keys = (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); this.save(false); }
      else if (e.altKey && (e.key === "j" || e.key === "J")) { e.preventDefault(); this.save(true); }
      else if (e.key === "Escape" && !this.result.hidden) { e.preventDefault(); this.reset(); }
      else if (e.altKey && /^[1-9]$/.test(e.key) && this.callerList && this.callerList[+e.key - 1]) {
        e.preventDefault();
        const entry = this.callerList[+e.key - 1];
        this.pickEnterprise(entry.enterprise, (entry.contacts || [])[0], entry.recent_tickets);
      }
    };
    document.addEventListener("keydown", this.keys);
  }

  // ---------------------------------------------------------------- the caller

  async lookup(auto) {
    const phone = this.f.phone.value.trim();
    const box = clear(this.f.callers);
    if (!phone) return;
    box.appendChild(el("p", { class: "muted" }, "正在查询…"));
    let out;
    try {
      out = await get("callers", { phone });
    } catch (e) {
      clear(box).appendChild(el("p", { class: "field-error" }, e.message));
      return;
    }
    clear(box);
    const list = out.enterprises || [];
    if (!list.length) {
      box.appendChild(el("p", { class: "muted", id: "caller-unknown" }, "未找到该号码的企业记录：请直接填写企业名称（无信用代码也可登记）。"));
      this.f.entName.focus();
      return;
    }
    box.appendChild(el("p", { class: "muted" }, "该号码关联 " + list.length + " 家企业，点选或按 Alt+数字："));
    list.forEach((entry, i) => {
      const e = entry.enterprise;
      const card = el("div", { class: "caller", "data-enterprise-id": e.id },
        el("div", { class: "caller-name" }, el("kbd", null, String(i + 1)), " ", e.name),
        el("div", { class: "muted small" }, [lbl(e.town, ""), e.uscc || "无信用代码", "在办 " + e.open_tickets + " · 共 " + e.total_tickets].filter(Boolean).join(" · ")),
        el("div", { class: "contacts" }, (entry.contacts || []).map((c) => el("button", { type: "button", class: "btn small contact",
          "data-contact": c.name, onclick: () => this.pickEnterprise(e, c, entry.recent_tickets) }, c.name + " " + c.phone))));
      card.tabIndex = 0;
      card.addEventListener("click", (ev) => { if (!ev.target.closest("button")) this.pickEnterprise(e, (entry.contacts || [])[0], entry.recent_tickets); });
      card.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && ev.target === card) { ev.preventDefault(); this.pickEnterprise(e, (entry.contacts || [])[0], entry.recent_tickets); } });
      box.appendChild(card);
    });
    this.callerList = list;
    if (list.length === 1) this.pickEnterprise(list[0].enterprise, (list[0].contacts || [])[0], list[0].recent_tickets, auto);
    else box.querySelector(".caller").focus();
  }

  async pickEnterprise(e, contact, recent, auto) {
    this.enterprise = e;
    const f = this.f;
    f.entName.value = e.name;
    f.uscc.value = e.uscc || "";
    f.entPicked.textContent = "已选：" + e.name + (e.uscc ? "" : "（无信用代码）") + (e.on_roster ? " · 规上名录" : "");
    $$(".caller", this.f.callers).forEach((n) => n.classList.toggle("picked", n.dataset.enterpriseId === String(e.id)));
    if (contact) { f.contact.value = contact.name; }
    if (!f.phone.value && contact && contact.phone && !contact.phone.includes("*")) f.phone.value = contact.phone;
    if (!this.townCode && e.town) { f.town.value = e.town.label; this.setTown(e.town.code); }
    this.showRecent(recent);
    if (!recent) {
      try {
        const full = await get("enterprises/" + e.id);
        if (this.enterprise === e) this.showRecent(full.tickets || []);
        if (!f.contact.value && full.contacts && full.contacts.length) f.contact.value = full.contacts[0].name;
      } catch (err) { /* the list stays empty */ }
    }
    (f.contact.value ? f.title : f.contact).focus();
    this.liveNow();
  }

  unpick() {
    if (!this.enterprise) return;
    this.enterprise = null;
    this.f.entPicked.textContent = "新企业：按名称登记";
    $$(".caller", this.f.callers).forEach((n) => n.classList.remove("picked"));
    this.showRecent([]);
  }

  showRecent(list) {
    this.recent = list || [];
    const box = clear(this.f.recent);
    if (!this.recent.length) { box.appendChild(el("p", { class: "muted" }, this.enterprise ? "暂无工单" : "选择企业后显示")); return; }
    box.appendChild(el("ul", { class: "mini-list" }, this.recent.slice(0, 8).map((t) => el("li", null,
      el("a", { href: ticketUrl(t.id), target: "_blank", rel: "noopener" }, t.number), " ",
      el("span", { class: "status s-" + t.status.code }, lbl(t.status)), el("div", null, t.title),
      el("div", { class: "muted small" }, fmtShort(t.received_at) + (t.lead_unit ? " · " + t.lead_unit.name : ""))))));
  }

  setTown(code) {
    this.townCode = code;
    if (code) {
      const town = state.ref.towns.byCode[code];
      this.f.town.value = town.name;
      this.f.county.value = town.county || "";
    }
    this.liveNow();
  }

  // ---------------------------------------------------------------- live: duplicates, routing, knowledge

  facts() {
    const f = this.f;
    return { title: f.title.value.trim(), description: f.desc.value.trim(), category: f.category.value || null,
      request_type: f.rtype.value, urgency: f.urgency.value, town: this.townCode, county: f.county.value || null,
      channel: f.channel.value };
  }

  async live() {
    const x = this.facts();
    const mine = ++this.seq;
    if (x.title.length < 2 && x.description.length < 4) return;
    const jobs = [this.liveDuplicates(x, mine), this.liveKnowledge(x, mine)];
    if (this.user.role !== "handler") jobs.push(this.liveRouting(x, mine));
    else clear(this.route).appendChild(el("p", { class: "muted" }, "登记后由规则派单。"));
    await Promise.all(jobs);
  }

  async liveRouting(x, mine) {
    try {
      await loadRef(["units"]);
      const out = await post("routing/preview", { channel: x.channel, category: x.category, request_type: x.request_type,
        urgency: x.urgency, county: x.county, town: x.town, title: x.title, description: x.description,
        registered_by_town_centre: isTownCentre(this.user) });
      if (mine !== this.seq) return;
      const d = out.decision;
      clear(this.route).appendChild(d.matched
        ? el("div", { "data-preview-unit": d.lead_unit }, el("div", { class: "big-unit" }, label("units", d.lead_unit) || d.lead_unit),
          d.assisting_units.length ? el("div", { class: "muted small" }, "协办：" + d.assisting_units.join("、")) : null,
          el("div", { class: "muted small" }, routeReason(d.reasons, d.rule_id)),
          d.set_category && !x.category ? el("div", { class: "muted small" }, "分类将设为：" + label("categories", d.set_category)) : null)
        : el("div", { "data-preview-unit": "" }, el("div", { class: "big-unit muted" }, "人工派单"),
          el("div", { class: "muted small" }, "没有规则匹配，登记后由派单员派单。")));
    } catch (e) {
      if (mine === this.seq) clear(this.route).appendChild(el("p", { class: "muted" }, "派单预览不可用"));
    }
  }

  async liveKnowledge(x, mine) {
    let found = [];
    try {
      found = await get("knowledge/suggest", { title: x.title, description: x.description, category: x.category, limit: 3 });
    } catch (e) {
      if (mine === this.seq) clear(this.kb).appendChild(el("p", { class: "muted" }, "知识库不可用"));
      return;
    }
    if (mine !== this.seq) return;
    const box = clear(this.kb);
    if (!found.length) { box.appendChild(el("p", { class: "muted" }, "暂无相关知识")); return; }
    for (const s of found) {
      const a = s.article;
      box.appendChild(el("div", { class: "kb-card", "data-article-id": a.id },
        el("div", { class: "kb-title" }, a.title), el("div", { class: "muted small" }, lbl(a.category, "") + (a.owner_unit ? " · " + a.owner_unit.name : "")),
        el("p", { class: "kb-body" }, a.body.length > 90 ? a.body.slice(0, 90) + "…" : a.body),
        el("button", { type: "button", class: "btn small", "data-cite": a.id, onclick: () => this.cite(a) }, "引用答复")));
    }
  }

  cite(a) {
    $("#instant-box", this.form).open = true;
    this.f.answer.value = a.body;
    this.article.set(a);
    this.f.answer.focus();
  }

  async liveDuplicates(x, mine) {
    const text = x.title + " " + x.description;
    const seen = new Map();
    const consider = (t) => {
      if (!t || seen.has(t.id) || !["new", "pending_dispatch", "assigned", "refuse_review", "in_progress"].includes(t.status.code)) return;
      const sim = Math.max(similarity(x.title, t.title), similarity(text, t.title + " " + (t.description || "")));
      if (sim >= 0.3) seen.set(t.id, { t, sim });
    };
    this.recent.forEach(consider);
    if (x.title.length >= 4) {
      try {
        const params = { q: x.title, status: ["new", "pending_dispatch", "assigned", "refuse_review", "in_progress"], limit: 5 };
        if (this.enterprise) params.enterprise = this.enterprise.id;
        (await get("tickets", params)).items.forEach(consider);
      } catch (e) { /* the enterprise's own tickets still count */ }
    }
    if (mine !== this.seq) return;
    const box = clear(this.dups);
    const list = Array.from(seen.values()).sort((a, b) => b.sim - a.sim).slice(0, 5);
    if (!list.length) { box.appendChild(el("p", { class: "muted", "data-duplicates": "0" }, "未发现相似的在办工单")); return; }
    box.appendChild(el("ul", { class: "mini-list", "data-duplicates": String(list.length) }, list.map(({ t, sim }) => el("li", null,
      el("a", { href: ticketUrl(t.id), target: "_blank", rel: "noopener" }, t.number), " ",
      el("span", { class: "status s-" + t.status.code }, lbl(t.status)), " ", el("span", { class: "muted small" }, "相似度 " + Math.round(sim * 100) + "%"),
      el("div", null, t.title)))));
  }

  // ---------------------------------------------------------------- saving

  body(instant) {
    const f = this.f;
    const ent = { name: f.entName.value.trim() };
    if (f.uscc.value.trim()) ent.uscc = f.uscc.value.trim();
    if (this.enterprise && this.enterprise.name === ent.name) ent.id = this.enterprise.id;
    const body = { channel: f.channel.value, enterprise: ent, contact: { name: f.contact.value.trim(), phone: f.phone.value.trim() },
      request_type: f.rtype.value, urgency: f.urgency.value, title: f.title.value.trim(), description: f.desc.value.trim() };
    if (this.townCode) body.town = this.townCode;
    else if (f.town.value.trim()) body.town = f.town.value.trim();
    if (f.county.value) body.county = f.county.value;
    if (f.category.value) body.category = f.category.value;
    if (instant) {
      body.instant_answer = f.answer.value.trim();
      const cited = this.article.read();
      if (cited) body.instant_answer_article_id = cited;
    }
    return body;
  }

  async save(instant) {
    if (this.saving || !this.result.hidden) return;
    const form = this.form;
    clearErrors(this.root);
    if (instant && !this.f.answer.value.trim()) {
      $("#instant-box", form).open = true;
      showErrors(form, new ApiError(422, { detail: [{ field: "instant_answer", message_zh: "即时办结须填写答复内容（可从知识库引用）" }] }), this.root);
      return;
    }
    this.saving = true;
    $$("button", form).forEach((b) => { b.disabled = true; });
    try {
      const out = await post("tickets", this.body(instant));
      this.done(out);
    } catch (e) {
      showErrors(form, e, this.root);
    } finally {
      this.saving = false;
      $$("button", form).forEach((b) => { b.disabled = false; });
    }
  }

  done(t) {
    const r = clear(this.result);
    r.hidden = false;
    r.appendChild(el("div", { class: "result-label" }, t.status.code === "resolved" ? "已即时办结，工单号" : "已登记，工单号"));
    r.appendChild(el("div", { class: "result-number", id: "ticket-number", "data-ticket-id": t.id }, t.number));
    r.appendChild(el("div", { class: "muted" }, t.enterprise.name + " · " + lbl(t.status) +
      (t.lead_unit ? " · 承办：" + t.lead_unit.name : "")));
    if ((t.possible_duplicates || []).length) {
      r.appendChild(el("div", { class: "warn" }, "可能与以下工单重复，可在工单页并单：",
        t.possible_duplicates.map((d) => el("a", { href: ticketUrl(d.id), target: "_blank", rel: "noopener", class: "dup-link" }, " " + d.number))));
    }
    r.appendChild(el("div", { class: "form-buttons" },
      el("a", { class: "btn", href: ticketUrl(t.id) }, "查看工单"),
      el("button", { type: "button", class: "btn primary", id: "btn-next", onclick: () => this.reset() }, "下一个来电 (Esc)")));
    this.form.classList.add("saved");
    toast((t.status.code === "resolved" ? "已即时办结：" : "已登记：") + t.number);
    $("#btn-next", r).focus();
  }

  reset() {
    const f = this.f;
    for (const input of [f.phone, f.entName, f.uscc, f.contact, f.town, f.title, f.desc, f.answer]) input.value = "";
    f.category.value = "";
    f.county.value = "";
    f.rtype.value = "help";
    f.urgency.value = "normal";
    f.entPicked.textContent = "";
    this.enterprise = null;
    this.townCode = null;
    this.article.set(null);
    clear(f.callers);
    this.showRecent([]);
    clearErrors(this.root);
    this.result.hidden = true;
    this.form.classList.remove("saved");
    $("#instant-box", this.form).open = false;
    for (const box of [this.dups, this.route, this.kb]) clear(box).appendChild(el("p", { class: "muted" }, "输入标题后显示"));
    if (location.search) history.replaceState(null, "", location.pathname);
    f.phone.focus();
  }
}

function fieldWrap(text, control, extra, cls) {
  return el("div", { class: "field" + (cls ? " " + cls : "") }, el("label", null, text, control), extra || null);
}

/** Similarity of two texts: Jaccard over their character bigrams (Chinese has no spaces). */
export function similarity(a, b) {
  const grams = (s) => {
    const clean = (s || "").replace(/[\s，。、；：！？,.;:!?（）()“”"'《》]/g, "");
    const out = new Set();
    for (let i = 0; i < clean.length - 1; i++) out.add(clean.slice(i, i + 2));
    return out;
  };
  const x = grams(a), y = grams(b);
  if (!x.size || !y.size) return 0;
  let both = 0;
  x.forEach((g) => { if (y.has(g)) both++; });
  return both / (x.size + y.size - both);
}
