// spotfleet dashboard: polls /v1/dashboard every second and draws the fleet map, the
// timelines (uPlot), the controller's notices and the last events; its buttons POST the
// same actions as spotfleet interrupt and capacity, with the run's token.
"use strict";

const token = document.querySelector('meta[name="spotfleet-token"]').content;
// The controller's dashboard on AWS shows the fleet and has no buttons.
const readOnly = document.querySelector('meta[name="spotfleet-readonly"]').content === "true";
const $ = (id) => document.getElementById(id);
const palette = ["#3fb37f", "#4c8df6", "#f0a93b", "#b083f0", "#e5534b", "#56d4dd", "#d2a8ff"];
const markColors = { interruption: "#e5534b", action: "#e5534b", rebalance: "#f0a93b", "launch-failure": "#ff7b72", cover: "#b083f0", uncover: "#b083f0" };
const charts = {};
let lastTimeline = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function toast(text, isError) {
  const t = $("toast");
  t.textContent = text;
  t.className = "show" + (isError ? " error" : "");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = ""; }, 4000);
}

async function act(path, body) {
  try {
    const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Spotfleet-Token": token }, body: JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) { toast(text.trim(), true); return; }
    const res = JSON.parse(text);
    toast(path.endsWith("interrupt") ? "notice sent to " + (res.instances || []).join(", ") : "Spot capacity set for " + (res.pools || []).join(", "));
    poll(true);
  } catch (e) {
    toast(String(e), true);
  }
}

function clock(seconds) {
  const s = Math.floor(seconds), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s % 60).padStart(2, "0");
}

function renderSummary(st) {
  $("fleet").textContent = st.fleet + " (" + st.workload + (readOnly ? ", on AWS, as the controller sees it" : "") + ")";
  $("clock").textContent = clock(st.emulatedSeconds);
  if (readOnly) {
    $("clock").previousElementSibling.textContent = "controller up for";
    $("cost").textContent = "see Cost Explorer";
    $("requests").textContent = "-";
    $("count-healthy").textContent = (st.services || []).reduce((n, s) => n + s.healthy, 0);
  }
  const live = (st.instances || []).filter((i) => i.state !== "terminated");
  $("count-instances").textContent = live.length;
  $("count-lifecycle").textContent = live.filter((i) => i.lifecycle === "spot").length + " / " + live.filter((i) => i.lifecycle !== "spot").length;
  $("count-healthy").textContent = (st.services || []).reduce((n, s) => n + s.healthy, 0);
  const saved = st.allOnDemandPerHourUsd > 0 ? Math.round(100 * (1 - st.costPerHourUsd / st.allOnDemandPerHourUsd)) : 0;
  $("cost").textContent = "$" + st.costPerHourUsd.toFixed(4) + "/h (" + saved + "% below On-Demand)";
  const rq = st.report.requests || {};
  $("requests").textContent = (rq.total || 0) + " sent, " + (rq.failed || 0) + " failed";
}

// The map: a row per instance type, a column per zone; each cell a pool with its instances,
// each instance with its tasks as dots colored by their target's health. Fargate tasks have
// no instance: they sit in FARGATE_SPOT and FARGATE rows, each its own chip.
function renderMap(st) {
  const byPool = new Map();
  const fargate = (st.tasks || []).filter((t) => !t.instance && t.zone).map((t) => ({
    id: t.id, pool: t.capacityProvider + "/" + t.zone, task: t,
    lifecycle: t.capacityProvider === "FARGATE_SPOT" ? "spot" : "on-demand",
    state: t.status === "RUNNING" ? "running" : t.status === "STOPPING" ? "shutting-down" : "pending",
  }));
  // Every Spot pool, with instances or not: a pool a shortage emptied is where its
  // capacity is given back.
  const free = new Map((st.pools || []).map((p) => [p.pool, p.free]));
  for (const p of free.keys()) byPool.set(p, []);
  for (const i of [...(st.instances || []), ...fargate]) {
    if (!byPool.has(i.pool)) byPool.set(i.pool, []);
    byPool.get(i.pool).push(i);
  }
  const types = [...new Set([...byPool.keys()].map((p) => p.split("/")[0]))].sort();
  const zones = [...new Set([...byPool.keys()].map((p) => p.split("/")[1]))].sort();
  // Targets are ip:port; a task's address is its ip. Under workload instances the
  // instance itself is the target.
  const health = new Map((st.targets || []).map((t) => [t.id.slice(0, t.id.lastIndexOf(":")), t.state]));
  const instanceTargets = new Map();
  for (const t of st.targets || []) {
    if (!instanceTargets.has(t.instance)) instanceTargets.set(t.instance, []);
    instanceTargets.get(t.instance).push(t);
  }
  const tasksOn = new Map();
  for (const t of st.tasks || []) {
    if (!tasksOn.has(t.instance)) tasksOn.set(t.instance, []);
    tasksOn.get(t.instance).push(t);
  }
  const map = $("map");
  map.style.gridTemplateColumns = "max-content repeat(" + zones.length + ", minmax(180px, 1fr))";
  const cells = [el("span"), ...zones.map((z) => el("span", { class: "axis" }, z))];
  for (const type of types) {
    cells.push(el("span", { class: "axis" }, type));
    for (const zone of zones) {
      const pool = type + "/" + zone;
      const insts = byPool.get(pool) || [];
      const head = el("header", {}, el("span", { class: "name" }, pool));
      if (free.has(pool)) {
        const f = free.get(pool);
        head.append(el("span", { class: "free", title: "Spot instances it can still give" }, f < 0 ? "free ∞" : "free " + f));
      }
      if (!readOnly && type !== "FARGATE") {
        head.append(el("button", { title: "no free Spot capacity in this pool", onclick: () => act("/v1/capacity", { pools: [pool], instances: 0 }) }, "no Spot"),
          el("button", { title: "unlimited free Spot capacity", onclick: () => act("/v1/capacity", { pools: [pool], instances: -1 }) }, "restore"));
      }
      const cell = el("div", { class: "pool" + (free.get(pool) === 0 ? " empty-capacity" : ""), "data-pool": pool }, head);
      for (const i of insts) {
        const cls = ["inst", i.lifecycle, i.state];
        if (i.terminatesIn) cls.push("noticed");
        if (i.rebalanceRecommended) cls.push("rebalance");
        const chip = el("span", { class: cls.join(" "), "data-id": i.id, title: i.id + " " + i.lifecycle + " " + i.state + (i.terminatesIn ? ", terminates in " + i.terminatesIn : "") }, i.id.slice(-6));
        if (i.task) { // a Fargate task: its own target
          const state = health.get(i.task.address) || (i.task.healthy ? "healthy" : "initial");
          chip.append(el("span", { class: "dot " + state, title: i.task.service + " " + i.task.id + " " + i.task.status + ", target " + state }));
          if (!readOnly && i.lifecycle === "spot" && i.state === "running") {
            chip.append(el("button", { class: "interrupt", title: "give task " + i.id + " the Fargate Spot interruption warning (and SIGTERM)", onclick: () => act("/v1/interrupt", { target: i.id }) }, "⚡"));
          }
          cell.append(chip);
          continue;
        }
        for (const t of tasksOn.get(i.id) || []) {
          const state = health.get(t.address) || (t.healthy ? "healthy" : "initial");
          chip.append(el("span", { class: "dot " + state, title: t.service + " " + t.id + " " + t.status + ", target " + state }));
        }
        if (!tasksOn.has(i.id)) {
          for (const t of instanceTargets.get(i.id) || []) {
            chip.append(el("span", { class: "dot " + t.state, title: t.targetGroup + " target " + t.state }));
          }
        }
        if (!readOnly && i.lifecycle === "spot" && i.state === "running" && !i.terminatesIn) {
          chip.append(el("button", { class: "interrupt", title: "give " + i.id + " its 2-minute Spot interruption notice", onclick: () => act("/v1/interrupt", { target: i.id }) }, "⚡"));
        }
        cell.append(chip);
      }
      cells.push(cell);
    }
  }
  map.replaceChildren(...cells);
}

// marksPlugin draws the timeline's marks as vertical lines.
function marksPlugin() {
  return {
    hooks: {
      draw: [(u) => {
        if (!lastTimeline) return;
        const ctx = u.ctx;
        ctx.save();
        for (const m of lastTimeline.marks || []) {
          const x = u.valToPos(m.t, "x", true);
          if (m.until > m.t) { // a run of marks: a band from the first to the last
            const x2 = Math.min(u.valToPos(m.until, "x", true), u.bbox.left + u.bbox.width);
            const x1 = Math.max(x, u.bbox.left);
            if (x2 > x1) {
              ctx.fillStyle = (markColors[m.kind] || "#888888") + "40";
              ctx.fillRect(x1, u.bbox.top, Math.max(x2 - x1, devicePixelRatio), u.bbox.height);
            }
            continue;
          }
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = markColors[m.kind] || "#888";
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      }],
    },
  };
}

function chart(id, series, data, opts) {
  const box = $(id);
  const key = series.map((s) => s.label).join("|");
  // As wide as its box, whatever the screen (at 420 px the charts stack, one a row).
  const width = Math.max(200, box.clientWidth || 300);
  if (!charts[id] || charts[id].key !== key) {
    if (charts[id]) charts[id].plot.destroy();
    const axis = { stroke: "#8a96a3", grid: { stroke: "#2a333d" }, ticks: { stroke: "#2a333d" } };
    const plot = new uPlot(Object.assign({
      width, height: 180, series: [{ label: "t", value: (u, v) => v == null ? "" : clock(v) }, ...series],
      axes: [Object.assign({ values: (u, vs) => vs.map(clock) }, axis), axis],
      scales: { x: { time: false } }, plugins: [marksPlugin()], legend: { live: false },
    }, opts || {}), data, box);
    charts[id] = { plot, key };
  } else {
    charts[id].plot.setData(data);
    if (Math.abs(charts[id].plot.width - width) > 20) charts[id].plot.setSize({ width, height: 180 });
  }
}

function renderTimeline(tl) {
  lastTimeline = tl;
  const t = tl.t || [];
  if (t.length < 2) return;
  const names = Object.keys(tl.services || {}).sort();
  const series = [], data = [t];
  names.forEach((n, i) => {
    const color = palette[i % palette.length];
    series.push({ label: n + " desired", stroke: color, dash: [6, 4], width: 1 }, { label: n + " healthy", stroke: color, width: 2 });
    data.push(tl.services[n].desired, tl.services[n].healthy);
  });
  chart("chart-services", series, data);
  chart("chart-instances", [{ label: "Spot", stroke: "#3fb37f", width: 2 }, { label: "On-Demand", stroke: "#4c8df6", width: 2 }], [t, tl.spot, tl.onDemand]);
  chart("chart-cost", [{ label: "USD/h", stroke: "#f0a93b", width: 2, value: (u, v) => v == null ? "" : "$" + v.toFixed(4) }], [t, tl.costPerHour]);
  const marks = (tl.marks || []).slice(-12).reverse();
  $("marks").replaceChildren(...marks.map((m) => el("li", { class: m.kind, "data-kind": m.kind }, clock(m.t) + " " + m.text)));
}

const phaseOrder = ["received", "deregistered", "replacement-ready", "stopped", "terminated"];

function renderController(ctl) {
  $("no-controller").hidden = !!ctl;
  const rows = ((ctl && ctl.inFlight) || []).map((n) => {
    const phases = Object.entries(n.reached || {}).sort((a, b) => a[1] - b[1] || phaseOrder.indexOf(a[0]) - phaseOrder.indexOf(b[0]))
      .map(([p, s]) => el("span", { class: "phase" }, p + " " + s.toFixed(1)));
    return el("tr", { "data-instance": n.instance }, el("td", {}, n.instance), el("td", {}, n.action), el("td", {}, n.pool), el("td", {}, ...phases));
  });
  $("notices").tBodies[0].replaceChildren(...rows);
  const phases = phaseOrder.filter((p) => ctl && ctl.phaseSeconds && ctl.phaseSeconds[p]);
  if (!phases.length) return;
  // Grouped bars: bucket b, phase p at x = b * (P + 1) + p; each phase's series has its
  // counts at its own places and nothing elsewhere.
  const bounds = ["≤0.1", "≤0.5", "≤1", "≤5", "≤15", "≤60", "≤120", ">120"];
  const P = phases.length, step = P + 1;
  const x = [], cols = phases.map(() => []);
  bounds.forEach((_, b) => phases.forEach((ph, p) => {
    x.push(b * step + p);
    phases.forEach((_, q) => cols[q].push(q === p ? ctl.phaseSeconds[ph].buckets[b] : null));
  }));
  const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.9, 30] }) : undefined;
  const series = phases.map((p, i) => ({ label: p, stroke: palette[i % palette.length], fill: palette[i % palette.length] + "aa", paths: bars, points: { show: false }, spanGaps: false }));
  chart("chart-phases", series, [x, ...cols], {
    axes: [{ stroke: "#8a96a3", grid: { show: false }, splits: () => bounds.map((_, b) => b * step + (P - 1) / 2),
      values: (u, vs) => vs.map((v) => bounds[Math.round((v - (P - 1) / 2) / step)] || "") },
    { stroke: "#8a96a3", grid: { stroke: "#2a333d" } }],
    series: [{ label: "seconds" }, ...series], scales: { x: { time: false, range: [-1, bounds.length * step - 1] } }, plugins: [],
  });
}

function renderEvents(st) {
  const recent = (st.recent || []).slice(-40).reverse();
  $("events").replaceChildren(...recent.map((line) => el("li", {}, line)));
}

let polling = false;
async function poll(once) {
  if (polling && once) return;
  polling = true;
  try {
    const r = await fetch("/v1/dashboard", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    const s = await r.json();
    renderSummary(s.status);
    renderMap(s.status);
    renderTimeline(s.timeline);
    renderController(s.controller);
    renderEvents(s.status);
    $("live").textContent = "live";
    $("live").className = "live ok";
  } catch (e) {
    $("live").textContent = "disconnected (" + e.message + "): is spotfleet up still running?";
    $("live").className = "live";
  } finally {
    polling = false;
  }
  if (!once) setTimeout(() => poll(false), 1000);
}
poll(false);
