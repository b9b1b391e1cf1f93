// Analytics dashboard for supervisors and admins: window figures, charts (Chart.js, vendored), anomaly flags
// and customer segments. Every figure comes from /api/v1/analytics; all text goes in with textContent, and
// Chart.js draws labels on a canvas, so nothing from the data is ever parsed as HTML.
"use strict";
const $ = (id) => document.getElementById(id);
const api = StaffSession.api;
let currentWindow = "24h";

function say(text, className = "muted") { $("status").textContent = text; $("status").className = className; }
const pct = (v) => (v === null ? "—" : `${(100 * v).toFixed(1)} %`);
const num = (v, digits = 2) => (v === null ? "—" : v.toFixed(digits));
const duration = (s) => (s === null ? "—" : s < 120 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`);

const TILES = [
  ["Messages", (f) => String(f.messages)],
  ["Conversations", (f) => String(f.conversations)],
  ["Bot deflection", (f) => pct(f.deflection_rate)],
  ["Hand-off rate", (f) => pct(f.handoff_rate)],
  ["Negative sentiment", (f) => pct(f.negative_share)],
  ["Avg sentiment", (f) => num(f.sentiment_avg)],
  ["First response", (f) => duration(f.first_response_s)],
  ["Resolution time", (f) => duration(f.resolution_s)],
  ["CSAT", (f) => (f.csat_avg === null ? "—" : `${f.csat_avg.toFixed(2)} (${f.csat_count})`)],
  ["SLA breaches", (f) => String(f.sla_breaches)],
];

function renderTiles(figures) {
  $("tiles").replaceChildren(...TILES.map(([name, format]) => {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.dataset.figure = name;
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = format(figures);
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    tile.append(value, label);
    return tile;
  }));
  $("as-of").textContent = `as of ${new Date(figures.as_of).toLocaleTimeString()}`;
}

const PALETTE = ["#1d3557", "#e63946", "#2a9d8f", "#f4a261", "#457b9d", "#8d99ae", "#6a4c93", "#ffb703", "#219ebc", "#8ac926"];
Chart.defaults.animation = false; // figures, not motion; and screenshots that do not catch a half-drawn chart
Chart.defaults.maintainAspectRatio = false;

function draw(id, config) {
  const existing = Chart.getChart(id);
  if (existing) existing.destroy();
  return new Chart($(id), config);
}

function pointLabel(start, minutesPerPoint) {
  const d = new Date(start);
  return minutesPerPoint >= 360 ? d.toLocaleString([], { weekday: "short", hour: "2-digit" }) : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function renderSeries(series) {
  const labels = series.points.map((p) => pointLabel(p.start, series.minutes_per_point));
  const line = (label, data, color, axis = "y") => ({ label, data, borderColor: color, backgroundColor: color, yAxisID: axis, tension: 0.2 });
  draw("chart-volume", {
    type: "line",
    data: { labels, datasets: [
      line("Messages", series.points.map((p) => p.messages), PALETTE[0]),
      line("Conversations", series.points.map((p) => p.conversations), PALETTE[2]),
      line("Hand-offs", series.points.map((p) => p.handoffs), PALETTE[1]),
    ] },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  draw("chart-sentiment", {
    type: "line",
    data: { labels, datasets: [
      line("Negative share", series.points.map((p) => p.negative_share), PALETTE[1]),
      line("Average sentiment", series.points.map((p) => p.sentiment_avg), PALETTE[4], "y2"),
    ] },
    options: { spanGaps: true, scales: { y: { min: 0, max: 1, title: { display: true, text: "share" } },
      y2: { min: -1, max: 1, position: "right", grid: { drawOnChartArea: false } } } },
  });
}

function renderIntents(figures) {
  const entries = Object.entries(figures.intent_mix);
  draw("chart-intents", {
    type: "bar",
    data: { labels: entries.map(([k]) => k), datasets: [{ label: "Messages", data: entries.map(([, v]) => v), backgroundColor: PALETTE[0] }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

function renderAnomalies(anomalies) {
  const items = anomalies.length ? anomalies.map((a) => a.description) : ["No anomalies: the last hour is within 3 standard deviations of its baseline."];
  $("anomalies").replaceChildren(...items.map((text) => { const li = document.createElement("li"); li.textContent = text; if (!anomalies.length) li.className = "muted"; return li; }));
}

function renderSegments(result) {
  const segments = result.segments;
  draw("chart-segments", {
    type: "bar",
    data: { labels: segments.map((s) => s.label), datasets: [
      { label: "Customers", data: segments.map((s) => s.size), backgroundColor: PALETTE[4], yAxisID: "y" },
      { label: "Churn rate", data: segments.map((s) => s.churn_rate), backgroundColor: PALETTE[1], yAxisID: "y2" },
    ] },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, y2: { min: 0, max: 1, position: "right", grid: { drawOnChartArea: false } } } },
  });
  const source = result.churn_source === "observed" ? "observed churn (cancelled customers)" : "mean predicted churn risk";
  $("segments-note").textContent = `${result.customers} customers in ${result.k} segments (K-Means, silhouette ${num(result.silhouette)}); churn rate is the ${source}.`;
  $("segments").replaceChildren(...segments.map((s) => {
    const row = document.createElement("tr");
    for (const text of [s.label, String(s.size), pct(s.churn_rate)]) { const td = document.createElement("td"); td.textContent = text; row.append(td); }
    return row;
  }));
}

async function load() {
  const w = encodeURIComponent(currentWindow);
  const [figures, series, anomalies] = await Promise.all([
    api(`/api/v1/analytics/summary?window=${w}`), api(`/api/v1/analytics/series?window=${w}`), api("/api/v1/analytics/anomalies"),
  ]);
  renderTiles(figures);
  renderSeries(series);
  renderIntents(figures);
  renderAnomalies(anomalies);
  document.body.dataset.loaded = currentWindow;
}

async function loadSegments() { renderSegments(await api("/api/v1/analytics/segments")); }

// Decision quality: the hand-off, knowledge-answer and other deciders per week and version, newest week first.
const QUALITY_ORDER = ["handoff", "kb_answer", "routing", "priority", "retention_offer", "override"];

function qualityRow(q) {
  const row = document.createElement("tr");
  Object.assign(row.dataset, { week: q.week, kind: q.kind, version: q.version || "" });
  const cells = [q.week, Decisions.kindName(q.kind), q.version || "—", String(q.n), String(q.labelled),
    pct(q.precision ?? null), pct(q.recall ?? null), pct(q.override_rate ?? null)];
  const names = ["week", "kind", "version", "n", "labelled", "precision", "recall", "override_rate"];
  cells.forEach((text, i) => {
    const td = document.createElement(i === 0 ? "th" : "td");
    if (i === 0) td.scope = "row";
    td.dataset.column = names[i];
    td.textContent = text;
    row.append(td);
  });
  return row;
}

async function loadQuality() {
  const weeks = $("quality-weeks").value;
  const rows = await api(`${Decisions.API}/decisions/quality?weeks=${encodeURIComponent(weeks)}`);
  const rank = (kind) => (QUALITY_ORDER.includes(kind) ? QUALITY_ORDER.indexOf(kind) : QUALITY_ORDER.length);
  rows.sort((a, b) => String(b.week).localeCompare(String(a.week)) || rank(a.kind) - rank(b.kind)
    || String(a.version).localeCompare(String(b.version)));
  $("quality-rows").replaceChildren(...rows.map(qualityRow));
  const labelled = rows.reduce((sum, q) => sum + q.labelled, 0);
  $("quality-note").textContent = rows.length ? `${labelled} labelled decisions in the last ${weeks} weeks.`
    : `No decisions logged in the last ${weeks} weeks.`;
  document.body.dataset.quality = "loaded";
}

// The quality table failing (say, a supervisor's role without it) must not stop the figures above.
function qualityFailed(error) {
  if (error.message !== "signed out") $("quality-note").textContent = `Decision quality not available: ${error.message}`;
}
$("quality-weeks").addEventListener("change", () => loadQuality().catch(qualityFailed));

for (const button of document.querySelectorAll("[data-window]")) {
  button.addEventListener("click", async () => {
    currentWindow = button.dataset.window;
    for (const b of document.querySelectorAll("[data-window]")) b.setAttribute("aria-pressed", String(b === button));
    try { await load(); } catch (error) { if (error.message !== "signed out") say(error.message, "error"); }
  });
}

StaffSession.start({
  say,
  prompt: "Sign in with a supervisor or admin account.",
  onSignedIn: async () => {
    await Promise.all([load(), loadSegments(), loadQuality().catch(qualityFailed)]);
    setInterval(() => load().catch(() => {}), 15000); // the windows move on; keep the figures current
  },
});
