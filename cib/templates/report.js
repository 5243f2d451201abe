/* cib report: draws the cluster cards from the JSON data block.
   Every string from the data goes into the page through textContent, or setAttribute with a fixed
   attribute name; no string is ever parsed as HTML, no event-handler attribute is ever set.
   Links only for http(s) URLs. */
(function () {
  "use strict";

  var SVGNS = "http://www.w3.org/2000/svg";
  var DATA = JSON.parse(document.getElementById("cib-data").textContent);
  var CLUSTERS = DATA.clusters;
  var PAGE_SIZE = 25;
  var MEMBER_ROWS = 25;
  var EVIDENCE_ROWS = 15;
  // one colour per kind, the same in every report; other kinds take the spare colours in turn
  var KIND_COLORS = {repost: "#2457c5", quote: "#56b4e9", reply: "#009e73", url: "#e69f00",
                     domain: "#8c6d1f", hashtag: "#cc79a7", mention: "#6a3fb5", text: "#d55e00",
                     media: "#444b59"};
  var SPARE_COLORS = ["#1b9e9e", "#b5651d", "#7a8290", "#9c2f6b"];
  var KIND_INDEX = {};
  DATA.kinds.forEach(function (k, i) { KIND_INDEX[k] = i; });

  function fieldIndex(fields, name) {
    for (var i = 0; i < fields.length; i++) { if (fields[i][0] === name) { return i; } }
    return -1;
  }
  var M_ACCOUNT = fieldIndex(DATA.member_fields, "account_id");
  var M_STRENGTH = fieldIndex(DATA.member_fields, "strength");
  var E_KIND = fieldIndex(DATA.evidence_fields, "kind");
  var E_OBJECT = fieldIndex(DATA.evidence_fields, "object_id");
  var E_TEXT = fieldIndex(DATA.evidence_fields, "example_text");
  var E_FIRST = fieldIndex(DATA.evidence_fields, "first_time");
  var E_LAST = fieldIndex(DATA.evidence_fields, "last_time");
  var E_HREF = DATA.evidence_fields.length;

  // ---------------------------------------------------------------- helpers
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    }
    return e;
  }
  function svgTitle(parent, text) {
    var t = svgEl("title");
    t.textContent = String(text);
    parent.appendChild(t);
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function kindColor(kind) {
    var name = typeof kind === "number" ? DATA.kinds[kind] : kind;
    if (name === undefined || name === null) { return "#9aa1ad"; }
    if (KIND_COLORS.hasOwnProperty(name)) { return KIND_COLORS[name]; }
    var i = KIND_INDEX.hasOwnProperty(name) ? KIND_INDEX[name] : -1;
    return i < 0 ? "#9aa1ad" : SPARE_COLORS[i % SPARE_COLORS.length];
  }
  function cut(s, n) {
    s = String(s);
    return s.length > n ? s.slice(0, n - 1) + "\u2026" : s;
  }
  function isNum(x) { return typeof x === "number" && isFinite(x); }
  // Invisible and direction-changing characters (bidi overrides and isolates, zero-width
  // characters, BOM) can make one identifier look like another: show them as <U+XXXX>.
  var HIDDEN = /[\u200b-\u200f\u202a-\u202e\u2060-\u2069\u061c\ufeff]/g;
  function reveal(s) {
    return String(s).replace(HIDDEN, function (ch) {
      return "\u27e8U+" + ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0") + "\u27e9";
    });
  }
  // An identifier as text, its hidden characters marked.
  function idNode(s) {
    s = String(s);
    HIDDEN.lastIndex = 0;
    if (!HIDDEN.test(s)) { return document.createTextNode(s); }
    var span = el("span"), last = 0;
    s.replace(HIDDEN, function (ch, at) {
      if (at > last) { span.appendChild(document.createTextNode(s.slice(last, at))); }
      span.appendChild(el("span", "hidden-char", reveal(ch)));
      last = at + ch.length;
      return ch;
    });
    if (last < s.length) { span.appendChild(document.createTextNode(s.slice(last))); }
    span.title = "Contains invisible or direction-changing characters";
    return span;
  }
  var NUMBER_FORMATS = {};
  function numberFormat(d) {
    if (!NUMBER_FORMATS.hasOwnProperty(d)) {
      NUMBER_FORMATS[d] = new Intl.NumberFormat("en-US", {minimumFractionDigits: 0, maximumFractionDigits: d});
    }
    return NUMBER_FORMATS[d];
  }
  function fmtInt(x) { return isNum(x) ? numberFormat(0).format(Math.round(x)) : "\u2013"; }
  function fmtNum(x, d) { return isNum(x) ? numberFormat(d).format(x) : "\u2013"; }
  function fmtP(p) {
    if (!isNum(p)) { return "\u2013"; }
    if (p === 0) { return "0"; }
    return p >= 0.01 ? p.toFixed(3) : p.toPrecision(2);
  }
  function fmtTime(s) {
    if (!isNum(s)) { return "\u2013"; }
    var d = new Date(s * 1000);
    return isNaN(d.getTime()) ? "\u2013" : d.toISOString().slice(0, 19).replace("T", " ");
  }
  function fmtDur(sec) {
    if (!isNum(sec)) { return "\u2013"; }
    sec = Math.max(0, sec);
    if (sec < 1) { return "<1 s"; }
    if (sec < 60) { return (sec < 10 ? sec.toFixed(1).replace(/\.0$/, "") : Math.round(sec)) + " s"; }
    if (sec < 3600) { return Math.floor(sec / 60) + " min " + Math.round(sec % 60) + " s"; }
    if (sec < 86400) { return Math.floor(sec / 3600) + " h " + Math.round((sec % 3600) / 60) + " min"; }
    return Math.floor(sec / 86400) + " d " + Math.round((sec % 86400) / 3600) + " h";
  }
  function safeHref(s) {
    if (typeof s !== "string" || !/^https?:\/\//i.test(s)) { return null; }
    var u;
    try { u = new URL(s); } catch (e) { return null; }
    if ((u.protocol !== "http:" && u.protocol !== "https:") || !u.hostname) { return null; }
    return u.href;
  }
  function swatch(color) {
    var s = svgEl("svg", {width: 10, height: 10, viewBox: "0 0 10 10", "aria-hidden": "true"});
    s.appendChild(svgEl("rect", {x: 0, y: 0, width: 10, height: 10, rx: 2, fill: color}));
    return s;
  }
  function kindChip(kind) {
    var c = el("span", "chip");
    c.appendChild(swatch(kindColor(kind)));
    c.appendChild(document.createTextNode(String(kind)));
    return c;
  }

  // ---------------------------------------------------------------- sortable, filterable tables
  function cellFor(kind, value, row) {
    var td = el("td");
    if (kind === "int") { td.className = "num"; td.textContent = fmtInt(value); }
    else if (kind === "num") { td.className = "num"; td.textContent = fmtNum(value, 2); }
    else if (kind === "ratio") { td.className = "num"; td.textContent = isNum(value) ? value.toFixed(2) : "\u2013"; }
    else if (kind === "time") { td.className = "t-time"; td.textContent = fmtTime(value); }
    else if (kind === "delay") { td.className = "num"; td.textContent = fmtDur(value); }
    else if (kind === "kind") { td.appendChild(kindChip(value === null ? "" : value)); }
    else if (kind === "account") { td.className = "acct"; td.appendChild(idNode(value === null ? "" : value)); }
    else if (kind === "object") {
      td.className = "t-object";
      var href = safeHref(row[E_HREF]);
      if (value === null || value === undefined) { td.textContent = "\u2013"; }
      else if (href) {
        var a = el("a");
        a.appendChild(idNode(value));
        a.href = href;
        a.rel = "noopener noreferrer";
        a.target = "_blank";
        a.referrerPolicy = "no-referrer";
        td.appendChild(a);
        td.appendChild(el("span", "ext", "\u2197"));
      } else { td.appendChild(idNode(value)); }
    } else {
      td.className = "t-text";
      td.textContent = value === null || value === undefined ? "" : String(value);
    }
    return td;
  }

  function makeTable(fields, rows, opts) {
    var box = el("div");
    var tools = el("div", "tbl-tools");
    var filter = el("input", "tbl-filter");
    filter.type = "search";
    filter.placeholder = opts.placeholder;
    filter.setAttribute("aria-label", opts.placeholder);
    var count = el("span", "tbl-count");
    tools.appendChild(filter);
    tools.appendChild(count);
    box.appendChild(tools);
    var scroll = el("div", "tbl-scroll");
    var table = el("table", "data");
    var thead = el("thead");
    var hr = el("tr");
    var ths = [];
    var state = {col: -1, dir: 1, q: "", all: false};
    fields.forEach(function (f, i) {
      var th = el("th", f[2] === "int" || f[2] === "num" || f[2] === "ratio" || f[2] === "delay" ? "num" : null, f[1]);
      th.setAttribute("scope", "col");
      th.tabIndex = 0;
      th.title = "Sort by " + f[1];
      function toggle() {
        if (state.col === i) { state.dir = -state.dir; }
        else { state.col = i; state.dir = (f[2] === "text" || f[2] === "object" || f[2] === "kind" || f[2] === "account" || f[2] === "time") ? 1 : -1; }
        render();
      }
      th.addEventListener("click", toggle);
      th.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(); } });
      ths.push(th);
      hr.appendChild(th);
    });
    thead.appendChild(hr);
    table.appendChild(thead);
    var tbody = el("tbody");
    table.appendChild(tbody);
    scroll.appendChild(table);
    box.appendChild(scroll);
    var more = el("button", "more");
    more.type = "button";
    more.hidden = true;
    more.addEventListener("click", function () { state.all = !state.all; render(); });
    box.appendChild(more);
    if (opts.capNote) { box.appendChild(el("p", "fig-note cap", opts.capNote)); }

    var texts = null;
    function rowText(i) {
      if (texts === null) {
        texts = rows.map(function (r) {
          return fields.map(function (f, j) {
            return f[2] === "text" || f[2] === "object" || f[2] === "kind" || f[2] === "account" ? (r[j] === null ? "" : String(r[j])) : "";
          }).join("\n").toLowerCase();
        });
      }
      return texts[i];
    }
    function cmp(a, b) {
      var x = a[state.col], y = b[state.col];
      if (x === null || x === undefined) { return (y === null || y === undefined) ? 0 : 1; }
      if (y === null || y === undefined) { return -1; }
      var r = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
      return r * state.dir;
    }
    function render() {
      var idx = [];
      for (var i = 0; i < rows.length; i++) {
        if (!state.q || rowText(i).indexOf(state.q) >= 0) { idx.push(i); }
      }
      var list = idx.map(function (i) { return rows[i]; });
      if (state.col >= 0) {
        list = list.map(function (r, k) { return [r, k]; });
        list.sort(function (a, b) { return cmp(a[0], b[0]) || a[1] - b[1]; });
        list = list.map(function (p) { return p[0]; });
      }
      ths.forEach(function (th, j) {
        if (j === state.col) { th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending"); }
        else { th.removeAttribute("aria-sort"); }
      });
      clear(tbody);
      var n = state.all ? list.length : Math.min(list.length, opts.limit);
      var frag = document.createDocumentFragment();
      for (var k = 0; k < n; k++) {
        var tr = el("tr");
        var r = list[k];
        for (var j = 0; j < fields.length; j++) {
          var td = cellFor(fields[j][2], r[j], r);
          tr.appendChild(td);
        }
        frag.appendChild(tr);
      }
      tbody.appendChild(frag);
      var c = n < list.length ? "Showing " + fmtInt(n) + " of " + fmtInt(list.length) : fmtInt(list.length) + " " + (list.length === 1 ? opts.one : opts.many);
      if (state.q) { c += " matching"; }
      count.textContent = c;
      more.hidden = list.length <= opts.limit;
      more.textContent = state.all ? "Show fewer" : "Show all " + fmtInt(list.length);
    }
    var timer = null;
    filter.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(function () { state.q = filter.value.trim().toLowerCase(); state.all = false; render(); }, 80);
    });
    render();
    return box;
  }

  // ---------------------------------------------------------------- network picture
  function springLayout(n, edges) {
    var x = new Float64Array(n), y = new Float64Array(n), i, j;
    for (i = 0; i < n; i++) {
      var a = 2 * Math.PI * i / Math.max(n, 1);
      x[i] = Math.cos(a) + 0.01 * Math.sin(i * 12.9898);
      y[i] = Math.sin(a) + 0.01 * Math.cos(i * 78.233);
    }
    if (n < 3) { return {x: x, y: y}; }
    var maxW = 1;
    edges.forEach(function (e) { if (e[2] > maxW) { maxW = e[2]; } });
    var k = Math.sqrt(4 / n), t = 0.12;
    var iters = n <= 40 ? 200 : (n <= 90 ? 100 : 60);
    var dx = new Float64Array(n), dy = new Float64Array(n);
    for (var it = 0; it < iters; it++) {
      dx.fill(0); dy.fill(0);
      for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
          var ux = x[i] - x[j], uy = y[i] - y[j];
          var d2 = ux * ux + uy * uy + 1e-9;
          var f = k * k / d2;
          dx[i] += ux * f; dy[i] += uy * f; dx[j] -= ux * f; dy[j] -= uy * f;
        }
      }
      for (var m = 0; m < edges.length; m++) {
        var u = edges[m][0], v = edges[m][1];
        var wx = x[u] - x[v], wy = y[u] - y[v];
        var d = Math.sqrt(wx * wx + wy * wy) + 1e-9;
        var g = d / k * (0.4 + 0.6 * Math.sqrt(edges[m][2] / maxW));
        dx[u] -= wx * g; dy[u] -= wy * g; dx[v] += wx * g; dy[v] += wy * g;
      }
      for (i = 0; i < n; i++) {
        dx[i] -= 0.08 * x[i] * n; dy[i] -= 0.08 * y[i] * n;  // gravity keeps loose parts in view
        var len = Math.sqrt(dx[i] * dx[i] + dy[i] * dy[i]) + 1e-9;
        var step = Math.min(len, t);
        x[i] += dx[i] / len * step; y[i] += dy[i] / len * step;
      }
      t *= 0.975;
    }
    return {x: x, y: y};
  }

  function drawNetwork(c) {
    var members = c.members;
    var n = Math.min(members.length, DATA.caps.net_nodes);
    var box = el("div", "fig");
    box.appendChild(el("p", "fig-t", "Network"));
    if (n === 0) { box.appendChild(el("p", "fig-note", "No members in the saved tables.")); return box; }
    var edges = [];
    for (var q = 0; q + 2 < c.net.length; q += 3) {
      if (c.net[q] < n && c.net[q + 1] < n) { edges.push([c.net[q], c.net[q + 1], c.net[q + 2]]); }
    }
    var pos = springLayout(n, edges);
    var W = 320, H = 260, pad = 14, i;
    if (n <= 12) {
      var longest = 0;
      for (i = 0; i < n; i++) { longest = Math.max(longest, cut(reveal(members[i][M_ACCOUNT]), 16).length); }
      pad = Math.min(100, 14 + 6 * longest);
    }
    var minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (i = 0; i < n; i++) {
      minX = Math.min(minX, pos.x[i]); maxX = Math.max(maxX, pos.x[i]);
      minY = Math.min(minY, pos.y[i]); maxY = Math.max(maxY, pos.y[i]);
    }
    var sx = (W - 2 * pad) / Math.max(maxX - minX, 1e-6), sy = (H - 2 * 18) / Math.max(maxY - minY, 1e-6);
    var s = Math.min(sx, sy);
    var ox = (W - s * (maxX - minX)) / 2, oy = (H - s * (maxY - minY)) / 2;
    function X(i) { return n === 1 ? W / 2 : ox + (pos.x[i] - minX) * s; }
    function Y(i) { return n === 1 ? H / 2 : oy + (pos.y[i] - minY) * s; }
    var svg = svgEl("svg", {viewBox: "0 0 " + W + " " + H, role: "img", "class": "plot"});
    svg.setAttribute("aria-label", "Network of " + n + " accounts and " + edges.length + " edges");
    var maxW = 1;
    edges.forEach(function (e) { if (e[2] > maxW) { maxW = e[2]; } });
    // edges as one path per width class: a few elements instead of one per edge
    var LEVELS = 6, paths = [];
    for (var lv = 0; lv < LEVELS; lv++) { paths.push([]); }
    edges.forEach(function (e) {
      var lvl = Math.min(LEVELS - 1, Math.floor(Math.sqrt(e[2] / maxW) * LEVELS));
      paths[lvl].push("M" + X(e[0]).toFixed(1) + " " + Y(e[0]).toFixed(1) + "L" + X(e[1]).toFixed(1) + " " + Y(e[1]).toFixed(1));
    });
    var gE = svgEl("g");
    paths.forEach(function (parts, lvl) {
      if (!parts.length) { return; }
      var r = (lvl + 1) / LEVELS;
      gE.appendChild(svgEl("path", {d: parts.join(""), fill: "none", "stroke-width": (0.5 + 3.5 * r).toFixed(2),
                                    "stroke-opacity": (0.18 + 0.5 * r).toFixed(2), "class": "net-edge"}));
    });
    svg.appendChild(gE);
    var maxS = 0;
    if (M_STRENGTH >= 0) { for (i = 0; i < n; i++) { if (isNum(members[i][M_STRENGTH])) { maxS = Math.max(maxS, members[i][M_STRENGTH]); } } }
    var gN = svgEl("g");
    var cx = W / 2;
    for (i = 0; i < n; i++) {
      var st = M_STRENGTH >= 0 && isNum(members[i][M_STRENGTH]) && maxS > 0 ? members[i][M_STRENGTH] / maxS : 0.5;
      var rad = n > 60 ? 2.5 + 3 * Math.sqrt(st) : 3.5 + 4.5 * Math.sqrt(st);
      var circle = svgEl("circle", {cx: X(i).toFixed(1), cy: Y(i).toFixed(1), r: rad.toFixed(1), "class": "net-node"});
      svgTitle(circle, reveal(members[i][M_ACCOUNT]));
      gN.appendChild(circle);
      if (n <= 12) {
        var right = X(i) >= cx;
        var label = svgEl("text", {x: (X(i) + (right ? rad + 3 : -rad - 3)).toFixed(1), y: (Y(i) + 3).toFixed(1),
                                   "text-anchor": right ? "start" : "end", "class": "net-label"});
        label.textContent = cut(reveal(members[i][M_ACCOUNT]), 16);
        gN.appendChild(label);
      }
    }
    svg.appendChild(gN);
    box.appendChild(svg);
    var note = fmtInt(n) + " accounts, " + fmtInt(edges.length) + " edges; line width follows the number of objects shared.";
    if (c.n_members > n || c.n_net_edges > edges.length) {
      note += " Showing the " + fmtInt(n) + " strongest of " + fmtInt(c.n_members) + " accounts and " + fmtInt(edges.length) + " of " + fmtInt(c.n_net_edges) + " edges.";
    }
    box.appendChild(el("p", "fig-note", note));
    return box;
  }

  // ---------------------------------------------------------------- timeline picture
  function timeTicks(t0, t1, count) {
    var span = Math.max(t1 - t0, 1);
    var steps = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 90 * 86400, 365 * 86400];
    var step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) { if (span / steps[i] <= count) { step = steps[i]; break; } }
    var out = [];
    for (var t = Math.ceil(t0 / step) * step; t <= t1; t += step) { out.push(t); }
    return {ticks: out, step: step};
  }
  function tickLabel(t, step, span) {
    var iso = new Date(t * 1000).toISOString();
    if (step >= 86400) { return iso.slice(0, 10); }
    if (span >= 86400) { return iso.slice(5, 10) + " " + iso.slice(11, 16); }
    return step >= 60 ? iso.slice(11, 16) : iso.slice(11, 19);
  }

  function drawTimeline(c) {
    var box = el("div", "fig");
    box.appendChild(el("p", "fig-t", "Timeline (UTC)"));
    var rows = [], marks = [], t0, t1, i, usedKinds = {};
    if (c.tl) {
      var seen = {}, tcum = 0;
      for (i = 0; i < c.tl.a.length; i++) {
        var a = c.tl.a[i];
        tcum += c.tl.dt[i];
        if (!seen.hasOwnProperty(a)) { seen[a] = rows.length; rows.push({label: c.members[a] ? c.members[a][M_ACCOUNT] : String(a)}); }
        var kName = DATA.kinds[c.tl.k[i]];
        usedKinds[kName === undefined ? "?" : kName] = true;
        marks.push({row: seen[a], t: tcum, t2: null, k: c.tl.k[i]});
      }
    } else if (!DATA.has_coactions && E_FIRST >= 0) {
      var items = [];
      c.evidence.forEach(function (r) {
        if (!isNum(r[E_FIRST])) { return; }
        var k = E_KIND >= 0 ? r[E_KIND] : "";
        items.push({label: k + ": " + (E_OBJECT >= 0 ? r[E_OBJECT] : ""), k: k, t: r[E_FIRST],
                    t2: isNum(r[E_LAST]) ? r[E_LAST] : r[E_FIRST]});
      });
      items.sort(function (x, y) { return (x.t - y.t) || (x.t2 - y.t2); });  // a Gantt chart
      items.forEach(function (it) {
        usedKinds[it.k] = true;
        rows.push({label: it.label});
        marks.push({row: rows.length - 1, t: it.t, t2: it.t2, k: KIND_INDEX.hasOwnProperty(it.k) ? KIND_INDEX[it.k] : -1});
      });
    }
    if (!marks.length) {
      box.appendChild(el("p", "fig-note", DATA.has_coactions ? "No co-action traces between members." : "No timed evidence in the saved tables."));
      return box;
    }
    t0 = Infinity; t1 = -Infinity;
    marks.forEach(function (m) { t0 = Math.min(t0, m.t); t1 = Math.max(t1, m.t2 === null ? m.t : m.t2); });
    if (t1 - t0 < 1) { t0 -= 30; t1 += 30; }
    var nRows = rows.length;
    var rowH = Math.max(2, Math.min(16, 300 / nRows));
    var labels = rowH >= 9;
    var W = 680, L = labels ? 136 : 12, R = 12, T = 6, B = 24;
    var H = T + nRows * rowH + B;
    var svg = svgEl("svg", {viewBox: "0 0 " + W + " " + H.toFixed(0), role: "img", "class": "plot"});
    svg.setAttribute("aria-label", "Timeline of " + marks.length + " marks over " + nRows + " rows");
    var plotW = W - L - R;
    function X(t) { return L + (t - t0) / (t1 - t0) * plotW; }
    var gGrid = svgEl("g");
    for (i = 0; i < nRows; i++) {
      if (i % 2 === 1 && rowH >= 4) {
        gGrid.appendChild(svgEl("rect", {x: L, y: (T + i * rowH).toFixed(1), width: plotW, height: rowH.toFixed(1), fill: "#f6f7f9"}));
      }
    }
    var tk = timeTicks(t0, t1, 6);
    tk.ticks.forEach(function (t) {
      var x = X(t).toFixed(1);
      gGrid.appendChild(svgEl("line", {x1: x, x2: x, y1: T, y2: T + nRows * rowH, "class": "grid"}));
      var lab = svgEl("text", {x: x, y: H - 8, "text-anchor": "middle", "class": "tick"});
      lab.textContent = tickLabel(t, tk.step, t1 - t0);
      gGrid.appendChild(lab);
    });
    gGrid.appendChild(svgEl("line", {x1: L, x2: W - R, y1: T + nRows * rowH, y2: T + nRows * rowH, "class": "axis"}));
    svg.appendChild(gGrid);
    if (labels) {
      var gL = svgEl("g");
      rows.forEach(function (r, j) {
        var text = svgEl("text", {x: L - 6, y: (T + j * rowH + rowH / 2 + 3).toFixed(1), "text-anchor": "end", "class": "row-label"});
        text.textContent = cut(reveal(r.label), 20);
        svgTitle(text, reveal(r.label));
        gL.appendChild(text);
      });
      svg.appendChild(gL);
    }
    // marks as one path per kind: a few elements instead of one per mark
    var mh = Math.max(1.5, rowH * 0.72), byKind = {};
    marks.forEach(function (m) {
      var y = T + m.row * rowH + (rowH - mh) / 2;
      var x = X(m.t), w = m.t2 === null ? 2 : Math.max(3, X(m.t2) - x);
      if (m.t2 === null) { x -= 1; }
      var key = String(m.k);
      if (!byKind.hasOwnProperty(key)) { byKind[key] = []; }
      byKind[key].push("M" + x.toFixed(1) + " " + y.toFixed(1) + "h" + w.toFixed(1) + "v" + mh.toFixed(1) + "h" + (-w).toFixed(1) + "z");
    });
    var gM = svgEl("g");
    Object.keys(byKind).forEach(function (key) {
      gM.appendChild(svgEl("path", {d: byKind[key].join(""), fill: kindColor(Number(key))}));
    });
    svg.appendChild(gM);
    box.appendChild(svg);
    var legend = el("div", "legend");
    Object.keys(usedKinds).sort(function (a, b) {
      return (KIND_INDEX.hasOwnProperty(a) ? KIND_INDEX[a] : 99) - (KIND_INDEX.hasOwnProperty(b) ? KIND_INDEX[b] : 99);
    }).forEach(function (k) { legend.appendChild(kindChip(k)); });
    box.appendChild(legend);
    var note;
    if (c.tl) {
      note = "One mark per co-action trace: " + fmtInt(marks.length) + " marks by " + fmtInt(nRows) + " accounts, " + fmtTime(t0) + " to " + fmtTime(t1) + ".";
      if (c.n_tl > marks.length) { note += " Showing " + fmtInt(marks.length) + " of " + fmtInt(c.n_tl) + " traces, evenly spread over time."; }
    } else {
      note = "One bar per co-acted object, from its first to its last share by members (per-account times are not in the saved tables).";
      if (c.n_evidence > c.evidence.length) { note += " Showing " + fmtInt(c.evidence.length) + " of " + fmtInt(c.n_evidence) + " objects."; }
    }
    box.appendChild(el("p", "fig-note" + (c.n_tl > marks.length ? " cap" : ""), note));
    return box;
  }

  // ---------------------------------------------------------------- cards
  function stat(parent, label, value, wide) {
    var s = el("div", "stat" + (wide ? " stat-wide" : ""));
    s.appendChild(el("span", "stat-l", label));
    var v = el("span", "stat-v");
    if (value instanceof Node) { v.appendChild(value); } else { v.textContent = value; }
    s.appendChild(v);
    parent.appendChild(s);
  }

  function reviewBadge(r) {
    var cls = {confirmed: "badge-confirmed", dismissed: "badge-dismissed", unreviewed: "badge-unreviewed"}[r.status_class] || "badge-other";
    var b = el("span", "badge " + cls, r.status);
    b.title = "Analyst verdict";
    return b;
  }

  function renderCard(c) {
    var card = el("article", "card" + (c.flagged ? " is-flagged" : ""));
    card.id = "cluster-" + String(Number(c.id));
    var head = el("div", "card-head");
    head.appendChild(el("span", "rank", "#" + (isNum(c.rank) ? c.rank : "?")));
    head.appendChild(el("h2", "card-title", "Cluster " + c.id));
    var sid = el("span", "sid", reveal(c.sid));
    sid.title = "Stable id: a hash of the sorted member list; it identifies the cluster across runs";
    head.appendChild(sid);
    head.appendChild(el("span", "badge " + (c.flagged ? "badge-flag" : "badge-noflag"), c.flagged ? "Flagged: coordinated" : "Not flagged"));
    var right = el("div", "head-right");
    if (c.review) { right.appendChild(reviewBadge(c.review)); }
    else if (DATA.has_review) { right.appendChild(reviewBadge({status: "unreviewed", status_class: "unreviewed"})); }
    head.appendChild(right);
    card.appendChild(head);

    var stats = el("div", "stats");
    stat(stats, "Score", fmtNum(c.score, 3));
    stat(stats, "p-value", fmtP(c.p_value));
    stat(stats, "Accounts", fmtInt(c.n_accounts));
    stat(stats, "Edges \u00b7 density", fmtInt(c.n_edges) + " \u00b7 " + fmtNum(c.density, 2));
    stat(stats, "Objects", fmtInt(c.n_objects));
    stat(stats, "Median delay", fmtDur(c.median_delay_s));
    stat(stats, "Timing similarity", fmtNum(c.timing_similarity, 2));
    stat(stats, "Text similarity", fmtNum(c.text_similarity, 2));
    stat(stats, "Coord. ratio", fmtNum(c.coordination_ratio, 2));
    card.appendChild(stats);
    var meta = el("div", "meta");
    var kinds = el("span", "meta-item");
    kinds.appendChild(el("span", "meta-l", "Kinds"));
    c.kinds.forEach(function (k) { kinds.appendChild(kindChip(k)); });
    if (!c.kinds.length) { kinds.appendChild(document.createTextNode("\u2013")); }
    meta.appendChild(kinds);
    var active = el("span", "meta-item");
    active.appendChild(el("span", "meta-l", "Active (UTC)"));
    active.appendChild(el("span", "meta-v", fmtTime(c.first) + " \u2192 " + fmtTime(c.last) +
      (isNum(c.first) && isNum(c.last) ? "  (" + fmtDur(c.last - c.first) + ")" : "")));
    meta.appendChild(active);
    card.appendChild(meta);

    if (c.review && (c.review.note || c.review.reviewer || c.review.time)) {
      var v = el("div", "verdict");
      v.appendChild(el("b", null, "Verdict: " + c.review.status));
      var who = [];
      if (c.review.reviewer) { who.push("by " + c.review.reviewer); }
      if (c.review.time) { who.push(c.review.time); }
      if (who.length) { v.appendChild(document.createTextNode(" (" + who.join(", ") + ")")); }
      if (c.review.note) { v.appendChild(document.createTextNode(": " + c.review.note)); }
      card.appendChild(v);
    }

    var figs = el("div", "figs");
    figs.appendChild(drawNetwork(c));
    figs.appendChild(drawTimeline(c));
    card.appendChild(figs);

    var ev = el("details", "sec");
    ev.open = true;
    var evSum = el("summary", null, "Evidence: objects co-acted on ");
    evSum.appendChild(el("span", "muted", "(" + fmtInt(c.n_evidence) + ")"));
    ev.appendChild(evSum);
    if (c.evidence.length) {
      ev.appendChild(makeTable(DATA.evidence_fields, c.evidence, {
        limit: EVIDENCE_ROWS, placeholder: "Filter objects and texts", one: "object", many: "objects",
        capNote: c.n_evidence > c.evidence.length ? "This page holds the " + fmtInt(c.evidence.length) + " most widely shared of " + fmtInt(c.n_evidence) + " objects; evidence.csv has all." : null}));
    } else { ev.appendChild(el("p", "fig-note", "No evidence rows for this cluster.")); }
    card.appendChild(ev);

    var mem = el("details", "sec");
    mem.open = true;
    var mSum = el("summary", null, "Members ");
    mSum.appendChild(el("span", "muted", "(" + fmtInt(c.n_members) + ")"));
    mem.appendChild(mSum);
    if (c.members.length) {
      mem.appendChild(makeTable(DATA.member_fields, c.members, {
        limit: MEMBER_ROWS, placeholder: "Filter accounts", one: "account", many: "accounts",
        capNote: c.n_members > c.members.length ? "This page holds the " + fmtInt(c.members.length) + " strongest of " + fmtInt(c.n_members) + " members; members.csv has all." : null}));
    } else { mem.appendChild(el("p", "fig-note", "No member rows for this cluster.")); }
    card.appendChild(mem);
    return card;
  }

  // ---------------------------------------------------------------- list: filter, sort, pages
  function haystack(c) {
    if (c._hay === undefined) {
      var parts = [String(c.id), "#" + c.rank, c.sid, c.kinds.join(" "), c.flagged ? "flagged" : "not flagged"];
      if (c.review) { parts.push(c.review.status, c.review.note || "", c.review.reviewer || ""); }
      if (M_ACCOUNT >= 0) { c.members.forEach(function (r) { parts.push(String(r[M_ACCOUNT])); }); }
      c.evidence.forEach(function (r) {
        if (E_OBJECT >= 0 && r[E_OBJECT] !== null) { parts.push(String(r[E_OBJECT])); }
        if (E_TEXT >= 0 && r[E_TEXT] !== null) { parts.push(String(r[E_TEXT])); }
      });
      c._hay = parts.join("\n").toLowerCase();
    }
    return c._hay;
  }

  var ui = {
    q: document.getElementById("q"), flagged: document.getElementById("flagged-only"),
    sort: document.getElementById("sort"), count: document.getElementById("count"),
    cards: document.getElementById("cards"), empty: document.getElementById("empty"),
    prev: [document.getElementById("prev"), document.getElementById("prev2")],
    next: [document.getElementById("next"), document.getElementById("next2")],
    page: [document.getElementById("page"), document.getElementById("page2")]
  };
  var state = {page: 0, view: []};
  var SORTS = {
    rank: function (a, b) { return (a.rank - b.rank) || (a.id - b.id); },
    p_value: function (a, b) { return ((isNum(a.p_value) ? a.p_value : 2) - (isNum(b.p_value) ? b.p_value : 2)) || (a.rank - b.rank); },
    n_accounts: function (a, b) { return ((b.n_accounts || 0) - (a.n_accounts || 0)) || (a.rank - b.rank); },
    n_objects: function (a, b) { return ((b.n_objects || 0) - (a.n_objects || 0)) || (a.rank - b.rank); },
    first: function (a, b) { return ((isNum(a.first) ? a.first : Infinity) - (isNum(b.first) ? b.first : Infinity)) || (a.rank - b.rank); },
    status: function (a, b) {
      var order = {confirmed: 0, other: 1, unreviewed: 2, dismissed: 3};
      var x = a.review ? order[a.review.status_class] : 2, y = b.review ? order[b.review.status_class] : 2;
      return (x - y) || (a.rank - b.rank);
    }
  };

  function computeView() {
    var q = ui.q.value.trim().toLowerCase();
    var flaggedOnly = ui.flagged.checked;
    var view = CLUSTERS.filter(function (c) {
      return (!flaggedOnly || c.flagged) && (!q || haystack(c).indexOf(q) >= 0);
    });
    view.sort(SORTS[ui.sort.value] || SORTS.rank);
    state.view = view;
  }

  function renderPage() {
    var view = state.view;
    var pages = Math.max(1, Math.ceil(view.length / PAGE_SIZE));
    state.page = Math.min(Math.max(state.page, 0), pages - 1);
    var start = state.page * PAGE_SIZE, end = Math.min(view.length, start + PAGE_SIZE);
    clear(ui.cards);
    var frag = document.createDocumentFragment();
    for (var i = start; i < end; i++) { frag.appendChild(renderCard(view[i])); }
    ui.cards.appendChild(frag);
    var total = CLUSTERS.length;
    var range = end - start === 1 ? fmtInt(end) : fmtInt(start + 1) + "\u2013" + fmtInt(end);
    ui.count.textContent = !view.length ? "0 of " + fmtInt(total) + (total === 1 ? " cluster" : " clusters") :
      "Showing " + range + " of " + fmtInt(view.length) +
      (view.length < total ? " (" + fmtInt(total) + " in total)" : (total === 1 ? " cluster" : " clusters"));
    ui.page.forEach(function (p) { p.textContent = "Page " + (state.page + 1) + " of " + pages; });
    ui.prev.forEach(function (b) { b.disabled = state.page === 0; });
    ui.next.forEach(function (b) { b.disabled = state.page >= pages - 1; });
    if (!total) {
      ui.empty.textContent = "No clusters were found in this run.";
    } else if (!view.length) {
      ui.empty.textContent = ui.flagged.checked && !ui.q.value.trim() ? "No flagged clusters. Untick \u201cFlagged only\u201d to see the others." : "No clusters match the filter.";
    }
    ui.empty.hidden = view.length > 0;
  }

  function update(resetPage) {
    if (resetPage) { state.page = 0; }
    computeView();
    renderPage();
  }
  var timer = null;
  ui.q.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { update(true); }, 120);
  });
  ui.flagged.addEventListener("change", function () { update(true); });
  ui.sort.addEventListener("change", function () { update(true); });
  function go(delta) {
    state.page += delta;
    renderPage();
    ui.cards.scrollIntoView({block: "start"});
    window.scrollBy(0, -60);
  }
  ui.prev.forEach(function (b) { b.addEventListener("click", function () { go(-1); }); });
  ui.next.forEach(function (b) { b.addEventListener("click", function () { go(1); }); });
  update(true);
  document.body.setAttribute("data-ready", "1");
})();
