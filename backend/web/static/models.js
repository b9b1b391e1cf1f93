// Model registry for admins: versions with their hold-out metrics, drift of each feature and of the score,
// promotion of a candidate (the gates may refuse it: hold-out ROC-AUC, fairness, a challenger's logged lift),
// the fairness audit of each version, the escalation challenger, and rollback. All text goes in with textContent.
"use strict";
const $ = (id) => document.getElementById(id);
const api = StaffSession.api;

function cell(text, className) { const td = document.createElement("td"); td.textContent = text; if (className) td.className = className; return td; }
function say(text, className = "muted") { $("status").textContent = text; $("status").className = className; }
const metric = (m, key) => (typeof m[key] === "number" ? m[key].toFixed(3) : "—");
const num = (x) => (typeof x === "number" ? x.toFixed(3) : "—");
const signed = (x) => (typeof x === "number" ? (x >= 0 ? "+" : "") + x.toFixed(4) : "—");
let overrideFor = null;  // the flagged version the override form promotes

async function loadVersions() {
  const versions = await api("/api/v1/models?limit=100");
  $("versions").replaceChildren(...versions.map((v) => {
    const row = document.createElement("tr");
    row.append(cell(v.kind), cell(v.version), cell(v.status), cell(metric(v.metrics, "roc_auc")),
      cell(metric(v.metrics, "pr_auc")), cell(metric(v.metrics, "brier")), fairnessCell(v.metrics.fairness),
      cell(new Date(v.created_at).toLocaleString()));
    const actions = document.createElement("td");
    if (v.managed_elsewhere) {  // e.g. a hand-off policy: nothing here applies to it
      actions.textContent = v.managed_elsewhere;
      row.append(actions);
      return row;
    }
    actions.append(button("Drift", () => showDrift(v)));
    if (v.metrics.fairness) actions.append(button("Fairness", () => showFairness(v)));
    if (v.status === "candidate") actions.append(button("Promote", () => act(`/api/v1/models/${v.id}/promote`, {}, `${v.kind} ${v.version} promoted.`)));
    if (v.status === "candidate" && v.kind === "escalation") actions.append(button("Run as challenger", () => act(`/api/v1/models/${v.id}/challenger`, {}, `${v.kind} ${v.version} scores beside production.`)));
    if (v.status === "production") actions.append(button("Roll back", () => act("/api/v1/models/rollback", { kind: v.kind }, `${v.kind} rolled back.`)));
    row.append(actions);
    return row;
  }));
  try { await loadChallenger(); } catch (error) { $("challenger").replaceChildren(); say(error.message, "error"); }
}

function fairnessCell(report) {
  if (!report) return cell("—");
  return cell(report.flagged ? "flagged" : "within bound", report.flagged ? "flagged" : "fair");
}

function showFairness(version) {
  const report = version.metrics.fairness;
  $("fairness-title").textContent = `Fairness: ${version.kind} ${version.version}`;
  const override = version.metrics.fairness_override;
  $("fairness-summary").textContent = `${report.data} data, ${report.n} rows, threshold ${report.threshold}; bound ${report.max_gap} `
    + `for ${(report.gated_metrics || []).join(", ") || "no metric"} by ${report.gated_attributes.join(", ") || "no gated attribute"} (support of at least ${report.min_group}). `
    + (report.flagged ? `Flagged: ${report.violations.join("; ")}.` : "Within the bound.")
    + (override ? ` Promoted by ${override.by} despite the flag: ${override.reason}` : "");
  $("fairness-summary").className = report.flagged ? "flagged" : "fair";
  const groups = [], gaps = [];
  for (const [name, attribute] of Object.entries(report.attributes)) {
    for (const [group, g] of Object.entries(attribute.groups)) {
      const row = document.createElement("tr");
      row.append(cell(name), cell(group), cell(String(g.n)), cell(num(g.selection_rate)), cell(num(g.precision)), cell(num(g.recall)), cell(num(g.calibration_error)));
      groups.push(row);
    }
    for (const [metricName, m] of Object.entries(attribute.metrics)) {
      const row = document.createElement("tr");
      const over = m.gated && typeof m.gated_gap === "number" && m.gated_gap > report.max_gap;
      row.append(cell(name), cell(metricName), cell(num(m.difference)), cell(num(m.ratio)), cell(num(m.gated_gap), over ? "flagged" : ""),
        cell(m.gated ? "yes" : "no"));
      gaps.push(row);
    }
  }
  $("fairness").replaceChildren(...groups);
  $("fairness-gaps").replaceChildren(...gaps);
  overrideFor = report.flagged && version.status !== "production" ? version : null;
  $("fairness-override").hidden = overrideFor === null;
}

async function loadChallenger() {
  const status = await api("/api/v1/models/challenger/status?kind=escalation");
  const lift = status.lift;
  const entries = [
    ["Champion", status.champion ? status.champion.version : "none"],
    ["Challenger", status.challenger ? status.challenger.version : "none"],
    ["Acts on", status.challenger ? (status.slice > 0 ? `${(status.slice * 100).toFixed(0)} % of conversations (shadow elsewhere)` : "no conversation: shadow only") : "—"],
  ];
  if (lift) {
    entries.push(["Turns with outcomes", `${lift.n} (needed ${lift.min_outcomes})`],
      ["ROC-AUC champion / challenger", `${num(lift.champion_auc)} / ${num(lift.challenger_auc)}`],
      ["Lift, 95 % interval", lift.ci95 ? `${signed(lift.lift)} [${signed(lift.ci95[0])}, ${signed(lift.ci95[1])}]` : "—"],
      ["Promotion", lift.passed ? "allowed: the interval lies above 0" : `refused: ${lift.reason}`]);
  }
  $("challenger").replaceChildren(...entries.flatMap(([term, text]) => {
    const dt = document.createElement("dt"); dt.textContent = term;
    const dd = document.createElement("dd"); dd.textContent = text;
    return [dt, dd];
  }));
  $("challenger-promote").hidden = $("challenger-stop").hidden = !status.challenger;
  $("challenger-promote").onclick = status.challenger
    ? () => act(`/api/v1/models/${status.challenger.id}/promote`, {}, `escalation ${status.challenger.version} promoted.`) : null;
  $("challenger-stop").onclick = () => act("/api/v1/models/challenger/stop", { kind: "escalation" }, "Challenger stopped.");
}

$("fairness-override").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!overrideFor) return;
  const version = overrideFor;
  act(`/api/v1/models/${version.id}/promote`, { fairness_override: $("override-reason").value },
    `${version.kind} ${version.version} promoted despite the fairness flag.`);
  $("fairness-override").hidden = true;
});

function button(label, onClick) { const b = document.createElement("button"); b.type = "button"; b.textContent = label; b.addEventListener("click", onClick); return b; }

async function act(path, body, done) {
  try { await api(path, { method: "POST", json: body }); say(done, "ok"); }
  catch (error) { say(`Refused: ${error.message}`, "error"); }
  await loadVersions();
}

async function showDrift(version) {
  $("drift-title").textContent = `Drift: ${version.kind} ${version.version}`;
  try {
    // A churn model is compared with today's customers, an escalation model with the scores it served.
    const source = version.kind === "churn" ? "population" : "scores";
    const report = await api(`/api/v1/models/${version.id}/drift?source=${source}`);
    const rows = [["score", report.score], ...Object.entries(report.features)];
    $("drift").replaceChildren(...rows.map(([name, value]) => {
      const row = document.createElement("tr");
      row.append(cell(name), cell(value.psi === null ? "—" : value.psi.toFixed(3)), cell(value.status, value.status));
      return row;
    }));
    say(`${report.n} ${report.source === "scores" ? "served scores" : "customers"} compared with the training data.`);
  } catch (error) { $("drift").replaceChildren(); say(error.message, "error"); }
}

StaffSession.start({ say, prompt: "Sign in with an admin account.", onSignedIn: loadVersions });
