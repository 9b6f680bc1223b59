/* 涉企问题一表通管 · 领导驾驶舱
 *
 * One page over the hotline API: GET api/v1/stats/summary (totals, trend, groups) and
 * GET api/v1/tickets?overdue=true. No library, no outside host: charts are drawn as inline SVG.
 *
 * Login: the same accounts as the API (POST api/v1/auth/token); the token lives in sessionStorage only,
 * and any 401 returns to the login form. Kiosks and tests may hand a token over in the URL fragment,
 * /dashboard#token=<bearer token>[&period=year|quarter|month|last12][&trend=month|week|day]; the page
 * moves it into sessionStorage and removes it from the address bar at once.
 *
 * Every number carries data-metric="<name>" and data-value="<raw value from the API>" (empty for none),
 * so a test can read both what the API said and what is shown.
 */
(function () {
  "use strict";

  var TOKEN_KEY = "hotline.dashboard.token";
  var PREFS_KEY = "hotline.dashboard.prefs";
  var REFRESH_MS = 30000;
  var TZ = "Asia/Shanghai";
  var API = "api/v1/"; // relative to /dashboard, so the page also works behind a path prefix
  var SVG_NS = (function () {
    var d = document.createElement("div");
    d.innerHTML = "<svg></svg>";
    return d.firstChild.namespaceURI;
  })();

  var RATES = [
    { key: "instant_rate", label: "即时办结率", base: "received", baseLabel: "受理", good: true },
    { key: "on_time_accept_rate", label: "按时签收率", base: "accepted", baseLabel: "签收", good: true },
    { key: "on_time_resolve_rate", label: "按期办结率", base: "resolved", baseLabel: "办结", good: true },
    { key: "satisfaction_rate", label: "满意率", base: "rated", baseLabel: "回访", good: true },
    { key: "solved_rate", label: "解决率", base: "rated", baseLabel: "回访", good: true },
    { key: "refusal_rate", label: "回退率", base: "dispatched", baseLabel: "派单", good: false },
    { key: "reopen_rate", label: "重办率", base: "resolved", baseLabel: "办结", good: false },
    { key: "repeat_rate", label: "重复诉求率", base: "received", baseLabel: "受理", good: false }
  ];
  var RANKS = [
    { list: "rank-on-time", metric: "on_time_resolve_rate", base: "resolved", baseLabel: "办结" },
    { list: "rank-satisfaction", metric: "satisfaction_rate", base: "rated", baseLabel: "回访" }
  ];
  var TREND_LABEL = { month: "按月", week: "近12周 · 按周", day: "近30日 · 按日" };

  var state = {
    token: null,
    user: null,
    period: "year",
    trend: "month",
    order: { "rank-on-time": "top", "rank-satisfaction": "top" },
    groupsAllowed: true,
    groups: {},
    trendData: null,
    timer: null,
    loading: false,
    again: false,
    refreshes: 0
  };

  // ---------------------------------------------------------------- helpers

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    });
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  var fmt = {
    count: function (v) { return v === null || v === undefined ? "—" : Number(v).toLocaleString("zh-CN"); },
    rate: function (v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; },
    hours: function (v) {
      if (v === null || v === undefined) return "—";
      return v >= 100 ? Math.round(v).toLocaleString("zh-CN") : String(Math.round(v * 100) / 100);
    },
    atMostHours: function (v) { return v === null || v === undefined ? "—" : "≤ " + fmt.hours(v); }
  };

  /** Show a number: the formatted text, and the raw value in data-value. */
  function show(node, value, kind) {
    if (!node) return;
    node.textContent = fmt[kind](value);
    node.setAttribute("data-value", value === null || value === undefined ? "" : String(value));
  }

  function metricNode(name) { return document.querySelector('[data-metric="' + name + '"]'); }

  function qs(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      if (params[k] !== null && params[k] !== undefined && params[k] !== "") {
        parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(params[k]));
      }
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  // dates are "YYYY-MM-DD" strings, computed in UTC so the browser's own time zone never matters
  function today() {
    return new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" })
      .format(new Date());
  }
  function toDate(s) { var p = s.split("-"); return new Date(Date.UTC(+p[0], +p[1] - 1, +p[2])); }
  function iso(d) { return d.toISOString().slice(0, 10); }
  function addDays(s, n) { var d = toDate(s); d.setUTCDate(d.getUTCDate() + n); return iso(d); }
  function addMonths(s, n) { var d = toDate(s); d.setUTCDate(1); d.setUTCMonth(d.getUTCMonth() + n); return iso(d); }
  function firstOfMonth(s) { return s.slice(0, 8) + "01"; }
  function monday(s) { var d = toDate(s); return addDays(s, -((d.getUTCDay() + 6) % 7)); }

  function periodRange(kind) {
    var t = today(), y = t.slice(0, 4), m = +t.slice(5, 7);
    switch (kind) {
      case "quarter": return { from: y + "-" + String(m - ((m - 1) % 3)).padStart(2, "0") + "-01", to: t };
      case "month": return { from: firstOfMonth(t), to: t };
      case "last12": return { from: addMonths(firstOfMonth(t), -11), to: t };
      default: return { from: y + "-01-01", to: t };
    }
  }

  /** The query of the headline period; the default period (this year) is the API's own default. */
  function periodParams() {
    return state.period === "year" ? {} : periodRange(state.period);
  }

  function trendWindow() {
    var p = periodRange(state.period);
    if (state.trend === "week") return { from: addDays(monday(p.to), -7 * 11), to: p.to };
    if (state.trend === "day") return { from: addDays(p.to, -29), to: p.to };
    return p;
  }

  function buckets(kind, from, to) {
    var out = [], cur = kind === "month" ? firstOfMonth(from) : kind === "week" ? monday(from) : from;
    while (cur <= to && out.length < 400) {
      out.push(cur);
      cur = kind === "month" ? addMonths(cur, 1) : addDays(cur, kind === "week" ? 7 : 1);
    }
    return out;
  }

  function bucketLabel(kind, b) {
    if (kind === "month") return +b.slice(5, 7) + "月";
    return +b.slice(5, 7) + "/" + +b.slice(8, 10);
  }

  var timeFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  var dueFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  var dateFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, month: "long", day: "numeric", weekday: "short" });

  function lateText(dueIso) {
    var mins = Math.max(0, Math.floor((Date.now() - Date.parse(dueIso)) / 60000));
    var d = Math.floor(mins / 1440), h = Math.floor((mins % 1440) / 60);
    if (d > 0) return d + "天" + (h ? h + "时" : "");
    if (h > 0) return h + "小时";
    return mins + "分钟";
  }

  // ---------------------------------------------------------------- API and login

  function AuthError() { this.name = "AuthError"; }

  function api(path) {
    return fetch(API + path, {
      headers: { Authorization: "Bearer " + state.token, Accept: "application/json" },
      cache: "no-store",
      credentials: "omit"
    }).then(function (res) {
      if (res.status === 401) throw new AuthError();
      if (res.status === 403) return { forbidden: true };
      if (!res.ok) throw new Error(path + " → HTTP " + res.status);
      return res.json();
    });
  }

  function takeFragment() {
    var hash = location.hash.replace(/^#/, "");
    if (!hash) return;
    var params = new URLSearchParams(hash);
    if (params.has("token")) {
      sessionStorage.setItem(TOKEN_KEY, params.get("token"));
      params.delete("token");
    }
    var prefs = loadPrefs();
    if (params.has("period")) prefs.period = params.get("period");
    if (params.has("trend")) prefs.trend = params.get("trend");
    sessionStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
    var rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
  }

  function loadPrefs() {
    try { return JSON.parse(sessionStorage.getItem(PREFS_KEY) || "{}") || {}; } catch (e) { return {}; }
  }

  function savePrefs() {
    sessionStorage.setItem(PREFS_KEY, JSON.stringify({ period: state.period, trend: state.trend }));
  }

  function showLogin(message) {
    clearTimeout(state.timer);
    state.token = null;
    state.user = null;
    sessionStorage.removeItem(TOKEN_KEY);
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    document.body.setAttribute("data-state", "login");
    $("login-username").focus();
  }

  function submitLogin(ev) {
    ev.preventDefault();
    var button = $("login-submit");
    button.disabled = true;
    $("login-error").textContent = "";
    var body = new URLSearchParams();
    body.set("username", $("login-username").value.trim());
    body.set("password", $("login-password").value);
    fetch(API + "auth/token", { method: "POST", body: body, credentials: "omit" })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (json) { return { res: res, json: json }; });
      })
      .then(function (r) {
        if (r.res.ok && r.json.access_token) {
          sessionStorage.setItem(TOKEN_KEY, r.json.access_token);
          $("login-password").value = "";
          start();
        } else if (r.res.status === 401 || r.res.status === 422 || r.res.status === 400) {
          $("login-error").textContent = "用户名或密码错误";
        } else {
          $("login-error").textContent = "登录失败（HTTP " + r.res.status + "），请稍后再试";
        }
      })
      .catch(function () { $("login-error").textContent = "无法连接服务器"; })
      .then(function () { button.disabled = false; });
  }

  function logout() {
    showLogin("已退出登录");
  }

  function start() {
    state.token = sessionStorage.getItem(TOKEN_KEY);
    state.user = null;
    if (!state.token) { showLogin(""); return; }
    // whoever logs in next starts with every panel; a handler's 403 on group_by hides them again
    state.groupsAllowed = true;
    $("grid").classList.remove("no-groups");
    Array.prototype.forEach.call(document.querySelectorAll("[data-needs-groups]"), function (n) { n.hidden = false; });
    $("login").hidden = true;
    $("app").hidden = false;
    document.body.setAttribute("data-state", "loading");
    api("me").then(function (user) {
      state.user = user;
      var who = user.display_name || user.username;
      $("user-name").textContent = who + (user.role_label ? "（" + user.role_label + "）" : "");
      $("scope-label").textContent = user.role === "handler" ? "本单位：" + (user.unit_name || user.unit) : "全市";
      document.body.setAttribute("data-scope", user.role === "handler" ? "unit" : "all");
      refresh();
    }).catch(function (err) {
      if (err instanceof AuthError) showLogin("登录已失效，请重新登录");
      else { setStatus("error", "无法连接服务器，稍后重试"); schedule(); }
    });
  }

  // ---------------------------------------------------------------- refresh

  function setStatus(kind, text) {
    var node = $("refresh-status");
    node.className = "refresh-status " + (kind || "");
    node.textContent = text;
  }

  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(function () { state.user ? refresh() : start(); }, REFRESH_MS);
  }

  function settle(promise) {
    return promise.then(function (v) { return { ok: true, value: v }; }, function (e) { return { ok: false, error: e }; });
  }

  function refresh() {
    if (state.loading) { state.again = true; return; }
    state.loading = true;
    clearTimeout(state.timer);
    setStatus("busy", "刷新中…");
    var p = periodParams();
    var names = ["totals", "trend", "overdue"];
    var calls = [
      api("stats/summary" + qs(p)),
      api("stats/summary" + qs(Object.assign({ trend: state.trend }, trendWindow()))),
      api("tickets" + qs({ overdue: "true", limit: 20 }))
    ];
    if (state.groupsAllowed) {
      ["unit", "town", "category"].forEach(function (g) {
        names.push(g);
        calls.push(api("stats/summary" + qs(Object.assign({ group_by: g }, p))));
      });
    }
    Promise.all(calls.map(settle)).then(function (results) {
      var failed = 0, auth = false;
      results.forEach(function (r, i) {
        if (!r.ok) {
          if (r.error instanceof AuthError) auth = true;
          else { failed++; if (window.console) console.error(names[i], r.error); }
          return;
        }
        try { render(names[i], r.value); } catch (e) { failed++; if (window.console) console.error(names[i], e); }
      });
      state.loading = false;
      if (auth) { showLogin("登录已失效，请重新登录"); return; }
      var now = new Date();
      $("last-refresh").textContent = timeFmt.format(now);
      $("last-refresh").setAttribute("data-refreshed-at", now.toISOString());
      state.refreshes++;
      document.body.setAttribute("data-refreshes", String(state.refreshes));
      if (failed) {
        setStatus("error", "部分数据刷新失败，30秒后重试");
        document.body.setAttribute("data-state", "partial");
      } else {
        setStatus("", "每30秒自动刷新");
        document.body.setAttribute("data-state", "ready");
      }
      if (state.again) { state.again = false; refresh(); } else schedule();
    });
  }

  function render(name, data) {
    if (name === "totals") return renderTotals(data);
    if (name === "trend") { state.trendData = data; return renderTrend(); }
    if (name === "overdue") return renderOverdue(data);
    if (data.forbidden) { hideGroups(); return; }
    state.groups[name] = data.groups || [];
    if (name === "unit") RANKS.forEach(renderRank);
    var openNow = (data.open_now && data.open_now.groups) || [];
    if (name === "town") renderPile($("pile-towns"), data.groups || [], openNow);
    if (name === "category") renderPile($("pile-categories"), data.groups || [], openNow);
  }

  function hideGroups() {
    state.groupsAllowed = false;
    $("grid").classList.add("no-groups");
    Array.prototype.forEach.call(document.querySelectorAll("[data-needs-groups]"), function (n) { n.hidden = true; });
  }

  // ---------------------------------------------------------------- headline

  function buildRateTiles() {
    var box = $("panel-rates");
    clear(box);
    RATES.forEach(function (r) {
      var C = 2 * Math.PI * 22;
      box.appendChild(el("div", { "class": "tile " + (r.good ? "good" : "bad"), "data-tile": r.key },
        el("div", { "class": "t-label", text: r.label }),
        el("div", { "class": "t-value" }, el("span", { "class": "num", "data-metric": r.key, "data-value": "", text: "—" })),
        svg("svg", { "class": "gauge", viewBox: "0 0 54 54", "aria-hidden": "true" },
          svg("circle", { "class": "track", cx: 27, cy: 27, r: 22, "stroke-width": 6 }),
          svg("circle", { "class": "arc", cx: 27, cy: 27, r: 22, "stroke-width": 6, transform: "rotate(-90 27 27)",
                          "stroke-dasharray": "0 " + C.toFixed(2), "data-gauge": r.key })),
        el("div", { "class": "t-base" }, r.baseLabel + " ",
          el("span", { "class": "num", "data-base-of": r.key, "data-value": "", text: "—" }), " 件")));
    });
  }

  function unitScope() { return !!(state.user && state.user.role === "handler"); }

  function share(part, whole) { return whole ? Math.round((part / whole) * 10000) / 10000 : null; }

  function renderTotals(data) {
    var m = data.totals;
    ["received", "resolved", "instant_resolved", "dispatched", "accepted", "refused"].forEach(function (k) {
      show(metricNode(k), m[k], "count");
    });
    // tickets open now (the summary's open_now), not 受理 minus 办结: merged ones are closed, reopened ones open
    show(metricNode("open"), data.open_now ? data.open_now.open : null, "count");
    show(metricNode("resolved_share"), share(m.resolved, m.received), "rate");
    show(metricNode("resolved_per_dispatched"), share(m.resolved, m.dispatched), "rate");
    // a unit receives nothing itself (受理 is the hotline's); its inflow is what was dispatched to it
    var bar = unitScope() ? share(m.resolved, m.dispatched) : share(m.resolved, m.received);
    $("hero-bar-fill").style.width = (bar === null ? 0 : Math.min(100, bar * 100)) + "%";
    // the percentiles are upper bounds, exact to the histogram's half hour
    show(metricNode("duration_hours_median"), m.duration_hours_median, "atMostHours");
    show(metricNode("duration_hours_p90"), m.duration_hours_p90, "atMostHours");
    RATES.forEach(function (r) {
      show(metricNode(r.key), m[r.key], "rate");
      show(document.querySelector('[data-base-of="' + r.key + '"]'), m[r.base], "count");
      var arc = document.querySelector('[data-gauge="' + r.key + '"]');
      var C = 2 * Math.PI * 22, v = m[r.key] || 0;
      arc.setAttribute("stroke-dasharray", (C * Math.min(1, v)).toFixed(2) + " " + C.toFixed(2));
      arc.classList.toggle("zero", !(v > 0));
    });
    var pt = $("period-text");
    pt.textContent = data.period.from + " 至 " + data.period.to;
    pt.setAttribute("data-period-from", data.period.from);
    pt.setAttribute("data-period-to", data.period.to);
  }

  // ---------------------------------------------------------------- trend chart

  /** The top of a y axis with 4 round steps (integers: these are counts). */
  function niceMax(v) {
    if (v <= 4) return 4;
    var raw = v / 4, p = Math.pow(10, Math.floor(Math.log10(raw))), n = raw / p;
    var step = (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * p;
    return Math.ceil(step) * 4;
  }

  function renderTrend() {
    var data = state.trendData;
    if (!data) return;
    var box = $("trend-chart");
    clear(box);
    var kind = data.trend_by || state.trend;
    var from = data.period.from, to = data.period.to;
    $("trend-range").textContent = (kind === "month" ? "按月 · " + from.slice(0, 7) + " 至 " + to.slice(0, 7) : TREND_LABEL[kind]);
    var inflow = unitScope() ? "dispatched" : "received", inLabel = inflow === "dispatched" ? "派单" : "受理";
    $("trend-title").textContent = inLabel + "与办结趋势";
    $("trend-legend-in").textContent = inLabel;
    var byBucket = {};
    (data.trend || []).forEach(function (b) { byBucket[b.bucket] = b.metrics; });
    var keys = buckets(kind, from, to);
    var rows = keys.map(function (k) {
      var m = byBucket[k] || { received: 0, dispatched: 0, resolved: 0 };
      return { key: k, received: inflow === "dispatched" ? m.dispatched : m.received, resolved: m.resolved };
    });
    box.setAttribute("data-buckets", String(rows.length));
    box.setAttribute("data-received-total", String(rows.reduce(function (s, r) { return s + r.received; }, 0)));

    var W = Math.max(box.clientWidth, 320), H = Math.max(box.clientHeight, 200);
    var M = { l: 44, r: 12, t: 18, b: 26 }, pw = W - M.l - M.r, ph = H - M.t - M.b;
    var max = niceMax(Math.max.apply(null, rows.map(function (r) { return Math.max(r.received, r.resolved); }).concat([0])));
    var y = function (v) { return M.t + ph - (v / max) * ph; };
    var chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": inLabel + "与办结趋势" });
    chart.appendChild(svg("defs", null,
      gradient("g-received", "#38bdf8", "#0369a1"), gradient("g-resolved", "#34d399", "#047857"),
      gradient("g-area", "rgba(56,189,248,0.35)", "rgba(56,189,248,0)")));
    var axis = svg("g", { "class": "axis" });
    for (var i = 0; i <= 4; i++) {
      var v = (max / 4) * i, yy = y(v);
      axis.appendChild(svg("line", { "class": "grid-line", x1: M.l, x2: W - M.r, y1: yy, y2: yy }));
      axis.appendChild(svg("text", { x: M.l - 8, y: yy + 4, "text-anchor": "end", text: Math.round(v * 10) / 10 }));
    }
    chart.appendChild(axis);
    var n = rows.length, slot = pw / Math.max(n, 1);
    var every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(pw / 52))));
    rows.forEach(function (r, i) {
      if (i % every === 0 || i === n - 1 && n <= 16) {
        chart.appendChild(svg("text", { "class": "xl", x: M.l + slot * (i + 0.5), y: H - 6, "text-anchor": "middle",
                                        text: bucketLabel(kind, r.key) }));
      }
    });
    if (n <= 16) {
      var bw = Math.min(30, slot * 0.32);
      rows.forEach(function (r, i) {
        var cx = M.l + slot * (i + 0.5), tip = r.key + "  " + inLabel + " " + r.received + " 件 · 办结 " + r.resolved + " 件";
        [["received", cx - bw - 2], ["resolved", cx + 2]].forEach(function (s) {
          var v = r[s[0]], top = y(v);
          chart.appendChild(svg("rect", { "class": "bar-" + s[0], x: s[1], y: top, width: bw, height: Math.max(0, M.t + ph - top),
                                          rx: 3, "data-bucket": r.key, "data-series": s[0], "data-value": v },
            svg("title", { text: tip })));
          if (v > 0 && n <= 13 && bw >= 14) {
            chart.appendChild(svg("text", { "class": "val " + s[0], x: s[1] + bw / 2, y: top - 5, text: v }));
          }
        });
      });
    } else {
      var pts = function (k) {
        return rows.map(function (r, i) { return (M.l + slot * (i + 0.5)).toFixed(1) + "," + y(r[k]).toFixed(1); });
      };
      var rec = pts("received");
      chart.appendChild(svg("polygon", { "class": "area-received",
        points: rec.join(" ") + " " + (M.l + slot * (n - 0.5)).toFixed(1) + "," + (M.t + ph) + " " + (M.l + slot * 0.5).toFixed(1) + "," + (M.t + ph) }));
      chart.appendChild(svg("polyline", { "class": "line-received", points: rec.join(" ") }));
      chart.appendChild(svg("polyline", { "class": "line-resolved", points: pts("resolved").join(" ") }));
      rows.forEach(function (r, i) {
        var cx = M.l + slot * (i + 0.5), tip = r.key + "  " + inLabel + " " + r.received + " 件 · 办结 " + r.resolved + " 件";
        ["received", "resolved"].forEach(function (k) {
          chart.appendChild(svg("circle", { "class": "dot-" + k, cx: cx, cy: y(r[k]), r: 3, "data-bucket": r.key,
                                            "data-series": k, "data-value": r[k] }, svg("title", { text: tip })));
        });
      });
    }
    if (!rows.some(function (r) { return r.received || r.resolved; })) {
      chart.appendChild(svg("text", { "class": "empty-note", x: M.l + pw / 2, y: M.t + ph / 2, text: "本期暂无" + inLabel + "与办结" }));
    }
    box.appendChild(chart);
  }

  function gradient(id, top, bottom) {
    return svg("linearGradient", { id: id, x1: 0, y1: 0, x2: 0, y2: 1 },
      svg("stop", { offset: "0%", "stop-color": top }), svg("stop", { offset: "100%", "stop-color": bottom }));
  }

  // ---------------------------------------------------------------- rankings and piles

  function renderRank(spec) {
    var list = $(spec.list), order = state.order[spec.list];
    var rows = (state.groups.unit || []).filter(function (g) { return g.key && g.metrics[spec.metric] !== null; });
    rows.sort(function (a, b) {
      return (b.metrics[spec.metric] - a.metrics[spec.metric]) || (b.metrics[spec.base] - a.metrics[spec.base]) ||
        (a.key < b.key ? -1 : 1);
    });
    var total = rows.length;
    var shown = order === "top" ? rows.slice(0, 10) : rows.slice(-10).reverse();
    list.classList.toggle("bottom", order === "bottom");
    list.setAttribute("data-order", order);
    clear(list);
    if (!shown.length) { list.appendChild(el("li", { "class": "empty-list", text: "本期暂无数据" })); return; }
    shown.forEach(function (g, i) {
      var v = g.metrics[spec.metric], rank = order === "top" ? i + 1 : total - i;
      var bar = el("div");
      bar.style.width = (v * 100).toFixed(1) + "%";
      list.appendChild(el("li", { "data-unit": g.key, "data-value": String(v), title: g.label || g.key },
        el("span", { "class": "rank-no", text: rank }),
        el("span", { "class": "rank-name", text: g.label || g.key }),
        el("div", { "class": "rank-bar" }, bar),
        el("span", { "class": "rank-val", text: fmt.rate(v) }),
        el("span", { "class": "rank-base", text: spec.baseLabel + " " + fmt.count(g.metrics[spec.base]) + " 件" })));
    });
  }

  // 未结 is the group's tickets open now (open_now.groups), not 受理 minus 办结 of the period.
  function renderPile(list, groups, openNow) {
    var openBy = {};
    (openNow || []).forEach(function (o) { openBy[o.key] = o.open; });
    var rows = groups.filter(function (g) { return g.metrics.received > 0; });
    rows.sort(function (a, b) { return (b.metrics.received - a.metrics.received) || (a.key < b.key ? -1 : 1); });
    rows = rows.slice(0, 10);
    clear(list);
    if (!rows.length) { list.appendChild(el("li", { "class": "empty-list", text: "本期暂无受理" })); return; }
    var max = rows[0].metrics.received;
    rows.forEach(function (g) {
      var rec = g.metrics.received, done = Math.min(g.metrics.resolved, rec), open = openBy[g.key] || 0;
      var a = el("div", { "class": "seg-resolved", title: "已办结 " + done }), b = el("div", { "class": "seg-open", title: "未办结 " + open });
      a.style.width = (done / max * 100).toFixed(2) + "%";
      b.style.width = (open / max * 100).toFixed(2) + "%";
      list.appendChild(el("li", { "data-key": g.key, "data-received": rec, "data-resolved": g.metrics.resolved, "data-open": open,
                                  title: (g.label || g.key) + "：受理 " + rec + " 件，办结 " + g.metrics.resolved + " 件" },
        el("span", { "class": "pile-name", text: g.label || g.key }),
        el("div", { "class": "pile-bar" }, a, b),
        el("span", { "class": "pile-num" }, el("b", { text: fmt.count(rec) }), " · 未结 ",
          el("span", { "class": "open-n", text: fmt.count(open) }))));
    });
  }

  // ---------------------------------------------------------------- overdue

  function renderOverdue(page) {
    var body = $("overdue-rows"), items = (page.items || []).slice();
    var due = function (t) { return (t.deadlines && t.deadlines.resolve_due_at) || ""; };
    items.sort(function (a, b) { return due(a) < due(b) ? -1 : due(a) > due(b) ? 1 : 0; }); // longest overdue first
    clear(body);
    items.forEach(function (t) {
      var due = t.deadlines && t.deadlines.resolve_due_at, sup = t.deadlines && t.deadlines.supervision;
      body.appendChild(el("tr", { "data-ticket-number": t.number, "data-ticket-id": t.id },
        el("td", { "class": "t-no", text: t.number }),
        el("td", { title: t.title, text: t.title }),
        el("td", { title: t.lead_unit ? t.lead_unit.name || t.lead_unit.code : "", text: t.lead_unit ? t.lead_unit.name || t.lead_unit.code : "—" }),
        el("td", { "class": "due", text: due ? dueFmt.format(new Date(due)) : "—" }),
        el("td", { "class": "late", text: due ? lateText(due) : "—" }),
        el("td", null, el("span", { "class": "light " + (sup ? sup.code : "none"), "data-supervision": sup ? sup.code : "",
                                    text: sup ? sup.label : "未督办" }))));
    });
    $("overdue-empty").hidden = items.length > 0;
    var badge = metricNode("overdue_listed");
    badge.textContent = items.length + (page.next_cursor ? "+" : "");
    badge.setAttribute("data-value", String(items.length));
    badge.setAttribute("data-more", page.next_cursor ? "true" : "false");
  }

  // ---------------------------------------------------------------- wiring

  function tick() {
    var now = new Date();
    $("clock").textContent = dateFmt.format(now) + " " + timeFmt.format(now);
  }

  function segment(group, attr, onPick) {
    Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) {
      b.addEventListener("click", function () {
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (o) { o.classList.toggle("on", o === b); });
        onPick(b.getAttribute(attr));
      });
    });
  }

  function markSegment(group, attr, value) {
    Array.prototype.forEach.call(group.querySelectorAll("button"), function (o) {
      o.classList.toggle("on", o.getAttribute(attr) === value);
    });
  }

  function init() {
    takeFragment();
    var prefs = loadPrefs();
    if (["year", "quarter", "month", "last12"].indexOf(prefs.period) >= 0) state.period = prefs.period;
    if (["month", "week", "day"].indexOf(prefs.trend) >= 0) state.trend = prefs.trend;
    $("period").value = state.period;
    markSegment($("trend-switch"), "data-trend", state.trend);
    buildRateTiles();

    $("login-form").addEventListener("submit", submitLogin);
    $("logout").addEventListener("click", logout);
    $("refresh").addEventListener("click", function () { refresh(); });
    $("period").addEventListener("change", function (e) { state.period = e.target.value; savePrefs(); refresh(); });
    segment($("trend-switch"), "data-trend", function (v) { state.trend = v; savePrefs(); refresh(); });
    Array.prototype.forEach.call(document.querySelectorAll("[data-rank-switch]"), function (group) {
      var listId = group.closest(".panel").querySelector(".rank-list").id;
      segment(group, "data-order", function (v) {
        state.order[listId] = v;
        RANKS.forEach(function (r) { if (r.list === listId) renderRank(r); });
      });
    });
    if (window.ResizeObserver) {
      // redraw in the same frame (the SVG is positioned absolutely, so drawing never resizes the box)
      var drawn = "";
      new ResizeObserver(function () {
        var box = $("trend-chart"), size = box.clientWidth + "x" + box.clientHeight;
        if (size !== drawn) { drawn = size; renderTrend(); }
      }).observe($("trend-chart"));
    }
    tick();
    setInterval(tick, 1000);
    start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
