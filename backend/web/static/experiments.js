// Experiments admin page: create a plan (the server computes its sample size), start, stop, read results
// with their intervals. Every text from the data goes in with textContent, never as HTML.
"use strict";
const $ = (id) => document.getElementById(id);
const api = StaffSession.api;

function say(text, className = "muted") { $("status").textContent = text; $("status").className = className; }

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function pct(value) { return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`; }

function plan(form) {
  const data = new FormData(form);
  const variants = String(data.get("variants")).split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const [name, weight] = line.split(":");
    return { name: name.trim(), weight: Number(weight || 1) };
  });
  const guardrails = String(data.get("guardrails")).split(",").map((g) => g.trim()).filter(Boolean);
  return {
    key: data.get("key"), name: data.get("name"), unit: data.get("unit"), variants,
    primary_outcome: data.get("primary_outcome"), guardrails,
    baseline_rate: Number(data.get("baseline_rate")), minimum_effect: Number(data.get("minimum_effect")),
    alpha: Number(data.get("alpha")), power: Number(data.get("power")),
  };
}

async function act(key, action) {
  const options = { method: "POST" };
  if (action === "stop") {
    const reason = prompt("Why stop before the planned size? (the results stay interim)");
    if (!reason) return;
    options.json = { reason };
  }
  try { await api(`/api/experiments/${encodeURIComponent(key)}/${action}`, options); say(`${key}: ${action}ed`, "ok"); }
  catch (error) { say(error.message, "error"); }
  await load();
}

function row(experiment) {
  const tr = el("tr");
  for (const value of [experiment.key, experiment.name, experiment.unit,
    experiment.status + (experiment.stop_reason ? ` (${experiment.stop_reason})` : ""), String(experiment.planned_per_arm)]) tr.append(el("td", value));
  const cell = el("td", undefined, "actions");
  if (experiment.status === "draft") {
    const start = el("button", "Start"); start.addEventListener("click", () => act(experiment.key, "start")); cell.append(start);
  }
  if (experiment.status === "running") {
    const stop = el("button", "Stop"); stop.addEventListener("click", () => act(experiment.key, "stop")); cell.append(stop);
  }
  const read = el("button", "Results"); read.addEventListener("click", () => showResults(experiment.key)); cell.append(read);
  tr.append(cell);
  return tr;
}

async function load() {
  const experiments = await api("/api/experiments");
  $("list").replaceChildren(...experiments.map(row));
}

async function showResults(key) {
  const found = await api(`/api/experiments/${encodeURIComponent(key)}/results`);
  $("results").hidden = false;
  $("results-title").textContent = `Results: ${found.experiment.name} (${found.experiment.status})`;
  $("results-note").textContent = `${found.note}. ${found.method} Confidence ${pct(found.confidence)}.`;
  $("results-note").className = found.final ? "ok" : "muted";
  const body = $("results-body");
  body.replaceChildren();
  for (const [metric, arms] of Object.entries(found.metrics)) {
    body.append(el("h3", metric + (metric === found.experiment.primary_outcome ? " (primary)" : " (guardrail)")));
    const table = el("table");
    const head = el("tr");
    for (const h of ["Variant", "Assigned", "Measured", "Yes", "Rate", "Interval"]) head.append(el("th", h));
    table.append(head);
    for (const arm of arms) {
      const tr = el("tr");
      for (const v of [arm.variant, arm.assigned, arm.measured, arm.successes, pct(arm.rate.estimate),
        `${pct(arm.rate.low)} to ${pct(arm.rate.high)}`]) tr.append(el("td", String(v)));
      table.append(tr);
    }
    body.append(table);
    const diffs = el("ul");
    for (const c of found.comparisons.filter((c) => c.metric === metric)) {
      diffs.append(el("li", `${c.variant} minus control: ${pct(c.difference.estimate)} (${pct(c.difference.low)} to ${pct(c.difference.high)})`));
    }
    body.append(diffs);
  }
}

$("plan").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const created = await api("/api/experiments", { method: "POST", json: plan(event.target) });
    say(`Created ${created.key}: ${created.planned_per_arm} units per arm planned.`, "ok");
    await load();
  } catch (error) { say(error.message, "error"); }
});

StaffSession.start({ say, prompt: "Sign in with an admin account.", onSignedIn: load });
