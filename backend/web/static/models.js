// Model registry for admins: versions with their hold-out metrics, drift of each feature and of the score,
// promotion of a candidate (the gate may refuse it) and rollback. All text goes in with textContent.
"use strict";
const $ = (id) => document.getElementById(id);
const api = StaffSession.api;

function cell(text, className) { const td = document.createElement("td"); td.textContent = text; if (className) td.className = className; return td; }
function say(text, className = "muted") { $("status").textContent = text; $("status").className = className; }
const metric = (m, key) => (typeof m[key] === "number" ? m[key].toFixed(3) : "—");

async function loadVersions() {
  const versions = await api("/api/v1/models?limit=100");
  $("versions").replaceChildren(...versions.map((v) => {
    const row = document.createElement("tr");
    row.append(cell(v.kind), cell(v.version), cell(v.status), cell(metric(v.metrics, "roc_auc")),
      cell(metric(v.metrics, "pr_auc")), cell(metric(v.metrics, "brier")), cell(new Date(v.created_at).toLocaleString()));
    const actions = document.createElement("td");
    actions.append(button("Drift", () => showDrift(v)));
    if (v.status === "candidate") actions.append(button("Promote", () => act(`/api/v1/models/${v.id}/promote`, {}, `${v.kind} ${v.version} promoted.`)));
    if (v.status === "production") actions.append(button("Roll back", () => act("/api/v1/models/rollback", { kind: v.kind }, `${v.kind} rolled back.`)));
    row.append(actions);
    return row;
  }));
}

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
