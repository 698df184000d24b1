// The status page: fetches /api/status every REFRESH_MS and draws it. No libraries, works offline.
"use strict";
const REFRESH_MS = 2000;
const TOKEN_KEY = "plateau-token";
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function pill(id, text, cls) {
  const p = document.getElementById(id);
  p.textContent = text;
  p.className = "pill " + (cls || "");
}

// One line chart of several series over the same x; null values are skipped.
function lineChart(cls, width, height, series, yLabel) {
  const s = svg("svg", {class: cls, width, height, viewBox: `0 0 ${width} ${height}`});
  const pad = 28;
  const values = series.flatMap(x => x.values).filter(v => v !== null && isFinite(v));
  const n = Math.max(...series.map(x => x.values.length), 2);
  if (values.length === 0) return s;
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi === lo) { hi += 1; lo -= 1; }
  const x = i => pad + (width - pad - 8) * i / (n - 1);
  const y = v => height - 16 - (height - 24) * (v - lo) / (hi - lo);
  s.append(svg("line", {x1: pad, y1: height - 16, x2: width - 8, y2: height - 16, stroke: "#999"}));
  const top = svg("text", {x: 2, y: 12, "font-size": 10, fill: "#555"}); top.textContent = hi.toPrecision(3);
  const bottom = svg("text", {x: 2, y: height - 18, "font-size": 10, fill: "#555"}); bottom.textContent = lo.toPrecision(3);
  s.append(top, bottom);
  series.forEach((ser, k) => {
    const pts = ser.values.map((v, i) => v === null || !isFinite(v) ? null : `${x(i)},${y(v)}`).filter(p => p);
    s.append(svg("polyline", {points: pts.join(" "), fill: "none", stroke: ser.color, "stroke-width": 2,
      "data-series": ser.name}));
    const t = svg("text", {x: pad + 4 + 90 * k, y: height - 3, "font-size": 10, fill: ser.color});
    t.textContent = ser.name;
    s.append(t);
  });
  if (yLabel) s.setAttribute("aria-label", yLabel);
  return s;
}

// A window (CSV: header of channel names, one row per step) as one sparkline per channel.
function sparkline(csv) {
  const rows = csv.trim().split(/\r?\n/);
  const names = rows.shift().split(",");
  const cols = names.map(() => []);
  for (const r of rows) r.split(",").forEach((v, i) => { if (i < cols.length) cols[i].push(parseFloat(v)); });
  const colors = ["#2563eb", "#16a34a", "#dc2626", "#9333ea"];
  const c = el("canvas", {width: 120, height: 32, class: "sparkline"});
  const g = c.getContext("2d");
  cols.forEach((col, k) => {
    const lo = Math.min(...col), hi = Math.max(...col), span = hi - lo || 1;
    g.strokeStyle = colors[k % colors.length];
    g.beginPath();
    col.forEach((v, i) => {
      const px = 120 * i / Math.max(col.length - 1, 1), py = 30 - 28 * (v - lo) / span;
      i ? g.lineTo(px, py) : g.moveTo(px, py);
    });
    g.stroke();
  });
  return c;
}

function prediction(p) {
  let input = el("span", {class: "noinput"}, "");
  if (p.content && p.type && p.type.startsWith("image/")) {
    input = el("img", {src: `data:${p.type};base64,${p.content}`, alt: p.input});
  } else if (p.content && p.type === "text/csv") {
    input = sparkline(atob(p.content));
  }
  return el("div", {class: "prediction"}, input, el("span", {class: "label"}, p.label),
    el("span", {}, (100 * p.score).toFixed(1) + " %"),
    el("span", {class: "meta"}, `${p.source} · ${p.input} · v${p.version} · ${new Date(p.at).toLocaleTimeString()}`));
}

function fineTune(report) {
  const box = el("div", {class: "finetune"});
  box.append(el("div", {}, el("b", {}, report.decision || "?"), ` (${report.verdict || ""}) `,
    report.version !== undefined ? `→ version ${report.version}` : ""));
  box.append(el("div", {class: "reason"}, report.reason || ""));
  const epochs = report.epochs || [];
  if (epochs.length) {
    box.append(lineChart("finetune-chart", 420, 120, [
      {name: "train loss", color: "#2563eb", values: epochs.map(e => e.train_loss ?? null)},
      {name: "val loss", color: "#dc2626", values: epochs.map(e => e.val_loss ?? null)},
    ], "loss per epoch"));
    box.append(lineChart("finetune-chart accuracy", 420, 90, [
      {name: "val accuracy", color: "#16a34a", values: epochs.map(e => e.val_accuracy ?? null)},
    ], "accuracy per epoch"));
  }
  return box;
}

function model(m) {
  const h = m.health || {};
  const prob = (h.probation && h.probation.state) || "none";
  const probCls = prob === "running" ? "warn" : prob === "rolled_back" ? "bad" : "ok";
  const card = el("section", {class: "model", "data-model": m.name});
  card.append(el("h2", {}, m.name, el("span", {class: "pill version"}, "v" + m.version),
    el("span", {class: "pill probation " + probCls}, "probation: " + prob)));
  card.append(el("div", {class: "figures"},
    el("div", {}, el("b", {class: "inferences"}, h.inferences ?? 0), "inferred"),
    el("div", {}, el("b", {}, h.rejected ?? 0), "rejected"),
    el("div", {}, el("b", {}, h.dropped ?? 0), "dropped"),
    el("div", {}, el("b", {}, h.errors ?? 0), "errors"),
    el("div", {}, el("b", {}, ((h.latency_p50_us ?? 0) / 1000).toFixed(2) + " ms"), "p50"),
    el("div", {}, el("b", {}, ((h.latency_p99_us ?? 0) / 1000).toFixed(2) + " ms"), "p99")));
  const alarms = h.alarms || {};
  if (Object.keys(alarms).length) {
    card.append(el("h3", {}, "Alarms"));
    for (const [source, a] of Object.entries(alarms)) {
      const raised = a.state === "raised" || a.raised === true;
      card.append(el("div", {class: "alarm"}, el("span", {class: "pill " + (raised ? "bad" : "ok")},
        source + ": " + (a.state || (raised ? "raised" : "clear")))));
    }
  }
  const reasons = Object.entries(m.rejections || {});
  card.append(el("h3", {}, "Rejected inputs"));
  card.append(reasons.length ? el("table", {class: "rejections"}, ...reasons.map(([r, n]) => el("tr", {},
    el("td", {}, r), el("td", {}, n)))) : el("div", {class: "reason"}, "none"));
  card.append(el("h3", {}, "Recent predictions"));
  card.append(el("div", {class: "recent"}, ...(m.recent || []).map(prediction)));
  card.append(el("h3", {}, "Last fine-tune"));
  card.append(m.finetune ? fineTune(m.finetune) : el("div", {class: "reason"}, "none on this device yet"));
  return card;
}

async function refresh() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? {Authorization: "Bearer " + token} : {};
  try {
    const r = await fetch("api/status", {headers, cache: "no-store"});
    if (r.status === 401) {
      document.getElementById("login").hidden = false;
      document.getElementById("login-error").textContent = token ? "wrong token" : "";
      return;
    }
    const s = await r.json();
    document.getElementById("login").hidden = true;
    pill("ready", s.ready ? "ready" : "not ready", s.ready ? "ok" : "warn");
    const f = s.fleet || {};
    pill("fleet", !f.configured ? "fleet: not configured" : f.connected ? `fleet: connected (outbox ${f.outbox})`
      : `fleet: disconnected (outbox ${f.outbox})`, !f.configured ? "" : f.connected ? "ok" : "bad");
    document.getElementById("models").replaceChildren(...s.models.map(model));
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.loaded = "true";
  } catch (e) {
    pill("ready", "unreachable", "bad");
  }
}

document.getElementById("login").addEventListener("submit", ev => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value);
  refresh();
});
refresh();
setInterval(refresh, REFRESH_MS);
