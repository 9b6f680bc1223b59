/* 知识库: browse and search the articles and the units' reply templates; admins and the owning unit's handlers
 * create and edit them (every version is kept, and shown). */
import { $, ApiError, api, autocomplete, clear, clearErrors, el, fmtTime, get, label, lbl, loadRef, post, refSelect,
  showErrors, toast, wireForm } from "./core.js";
import { unitSource } from "./ticket.js";

export async function startKnowledge(main, user) {
  await loadRef(["categories", "units", "article_kinds"]);
  const f = {};
  f.q = el("input", { id: "k-q", placeholder: "检索标题、标签和正文" });
  f.kind = refSelect("article_kinds", { id: "k-kind" }, "全部类型");
  f.category = refSelect("categories", { id: "k-category" }, "全部分类");
  f.stale = el("input", { type: "checkbox", id: "k-stale" });
  const mayWrite = user.role === "admin" || user.role === "handler";
  const form = el("form", { class: "card filters", role: "search" },
    el("div", { class: "row wrap" }, el("div", { class: "field grow" }, f.q), f.kind, f.category,
      el("label", { class: "inline" }, f.stale, " 含已过期"), el("button", { type: "submit", class: "btn primary" }, "检索"),
      mayWrite ? el("button", { type: "button", id: "k-new", class: "btn", onclick: () => edit(null) }, "新建") : null));
  const list = el("div", { id: "k-list", class: "klist" });
  const more = el("button", { type: "button", class: "btn", hidden: true }, "加载更多");
  const view = el("div", { id: "k-view", class: "kview" }, el("div", { class: "empty" }, "在左侧选择一条知识"));
  main.appendChild(el("div", { class: "knowledge" }, form, el("div", { class: "qbody" }, el("div", { class: "qleft" }, list, more), view)));

  let cursor = null;
  const load = async (append) => {
    const params = { limit: 20 };
    if (f.q.value.trim()) params.q = f.q.value.trim();
    if (f.kind.value) params.kind = f.kind.value;
    if (f.category.value) params.category = f.category.value;
    if (f.stale.checked) params.include_stale = "true";
    if (append && cursor) params.cursor = cursor;
    if (!append) clear(list);
    let page;
    try { page = await get("knowledge", params); } catch (e) { list.appendChild(el("div", { class: "form-error" }, e.message)); return; }
    for (const a of page.items) list.appendChild(item(a));
    if (!list.children.length) list.appendChild(el("div", { class: "empty" }, "没有符合条件的知识"));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  const item = (a) => el("div", { class: "qitem", role: "button", tabindex: "0", "data-article-id": a.id, onclick: () => show(a.id),
    onkeydown: (e) => { if (e.key === "Enter") show(a.id); } },
  el("div", { class: "qline" }, el("span", { class: "tag kind" }, lbl(a.kind)), a.stale ? el("span", { class: "tag overdue" }, a.stale_reason || "已过期") : null),
  el("div", { class: "qtitle" }, a.title),
  el("div", { class: "muted small" }, [lbl(a.category, ""), a.owner_unit ? a.owner_unit.name : "", "第 " + a.version + " 版"].filter(Boolean).join(" · ")));

  const canEdit = (a) => user.role === "admin" || (user.role === "handler" && a.owner_unit && a.owner_unit.code === user.unit);

  async function show(id) {
    $$sel(list, id);
    clear(view).appendChild(el("div", { class: "loading" }, "正在加载…"));
    const a = await get("knowledge/" + id);
    clear(view).appendChild(el("article", { class: "card article", "data-article-id": a.id },
      el("div", { class: "qline" }, el("span", { class: "tag kind" }, lbl(a.kind)), a.stale ? el("span", { class: "tag overdue" }, a.stale_reason) : null),
      el("h2", null, a.title),
      el("dl", { class: "facts" },
        fact("分类", lbl(a.category, "未分类")), fact("所属单位", a.owner_unit ? a.owner_unit.name : "—"),
        fact("标签", a.tags.length ? a.tags.join("、") : "—"), fact("有效期", (a.valid_from || "—") + " 至 " + (a.valid_until || "长期")),
        fact("复核日期", a.review_by || "—"), fact("版本", "第 " + a.version + " 版 · " + a.updated_by + " · " + fmtTime(a.updated_at))),
      el("div", { class: "article-body" }, a.body),
      el("div", { class: "form-buttons" },
        canEdit(a) ? el("button", { type: "button", class: "btn primary", id: "k-edit", onclick: () => edit(a) }, "编辑") : null,
        el("button", { type: "button", class: "btn ghost", onclick: () => versions(a) }, "版本记录")),
      el("div", { id: "k-versions" })));
  }

  async function versions(a) {
    const box = clear($("#k-versions", view));
    const page = await get("knowledge/" + a.id + "/versions", { limit: 50 });
    box.appendChild(el("ol", { class: "timeline" }, page.items.map((v) => el("li", { class: "ev" },
      el("div", { class: "ev-head" }, el("b", null, "第 " + v.version + " 版"), " ", v.title),
      el("div", { class: "ev-meta" }, fmtTime(v.edited_at) + " · " + v.edited_by)))));
  }

  function edit(a) {
    const e = {};
    e.kind = refSelect("article_kinds", { "data-field": "kind" });
    e.title = el("input", { "data-field": "title", value: a ? a.title : "" });
    e.body = el("textarea", { "data-field": "body", rows: "10" });
    e.body.value = a ? a.body : "";
    e.category = refSelect("categories", { "data-field": "category" }, "未分类");
    e.tags = el("input", { "data-field": "tags", placeholder: "用逗号分隔", value: a ? a.tags.join("，") : "" });
    e.owner = el("input", { "data-field": "owner_unit", placeholder: "输入单位名称检索" });
    e.valid_from = el("input", { type: "date", "data-field": "valid_from", value: a ? a.valid_from || "" : "" });
    e.valid_until = el("input", { type: "date", "data-field": "valid_until", value: a ? a.valid_until || "" : "" });
    e.review_by = el("input", { type: "date", "data-field": "review_by", value: a ? a.review_by || "" : "" });
    let owner = a && a.owner_unit ? a.owner_unit.code : user.role === "handler" ? user.unit : null;
    e.owner.value = owner ? label("units", owner) : "";
    if (user.role === "handler") e.owner.disabled = true;
    else autocomplete(e.owner, unitSource(), (it) => { owner = it.value; }, { onType: () => { owner = null; } });
    if (a) { e.kind.value = a.kind.code; e.category.value = a.category ? a.category.code : ""; }
    const form = el("form", { class: "card action-form", id: "k-form", novalidate: true },
      el("h3", null, a ? "编辑：" + a.title : "新建知识"),
      el("div", { class: "form-error", role: "alert", hidden: true }),
      el("div", { class: "row" }, wrap("类型", e.kind), wrap("分类", e.category), wrap("所属单位", e.owner, "grow")),
      wrap("标题 *", e.title), wrap("正文 *", e.body), wrap("标签", e.tags),
      el("div", { class: "row" }, wrap("生效日期", e.valid_from), wrap("失效日期", e.valid_until), wrap("复核日期", e.review_by)),
      el("div", { class: "form-buttons" }, el("button", { type: "submit", class: "btn primary", id: "k-save" }, "保存"),
        el("button", { type: "button", class: "btn ghost", onclick: () => (a ? show(a.id) : clear(view)) }, "取消")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const body = { kind: e.kind.value, title: e.title.value.trim(), body: e.body.value.trim(),
        category: e.category.value || null, tags: e.tags.value.split(/[,，、\s]+/).map((s) => s.trim()).filter(Boolean),
        owner_unit: owner || (e.owner.value.trim() || null), valid_from: e.valid_from.value || null,
        valid_until: e.valid_until.value || null, review_by: e.review_by.value || null };
      try {
        let out;
        if (a) out = await api("knowledge/" + a.id, { method: "PUT", body: Object.assign(body, { version: a.version }) });
        else out = await post("knowledge", body);
        toast("已保存：" + out.title + "（第 " + out.version + " 版）");
        await load(false);
        await show(out.id);
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) err.message = "保存失败：该条目已被他人修改，请刷新后再编辑。";
        showErrors(form, err);
      }
    });
    clear(view).appendChild(form);
    wireForm(form);
    e.title.focus();
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(false); });
  more.addEventListener("click", () => load(true));
  await load(false);
}

function $$sel(list, id) {
  list.querySelectorAll(".qitem").forEach((n) => n.classList.toggle("selected", n.dataset.articleId === String(id)));
}

function fact(k, v) { return el("div", { class: "fact" }, el("dt", null, k), el("dd", null, v)); }

function wrap(text, control, cls) {
  return el("div", { class: "field" + (cls ? " " + cls : "") }, el("label", null, text, control));
}

