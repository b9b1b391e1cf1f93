// Automation rules for admins: a form that builds a rule (trigger, condition rows, action rows, hours),
// saves it as a new version, dry-runs it over the last days' events, enables it; versions with rollback;
// the exception queue. Every value goes in with textContent or .value: rule data is never markup.
"use strict";
const $ = (id) => document.getElementById(id);
const api = StaffSession.api;
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
let language = null; // GET /api/automation/schema
let current = null; // the rule being edited (RuleOut) or null for a new one

function say(text, className = "muted") { $("status").textContent = text; $("status").className = className; }
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
function option(value, label) { return new Option(label || value.replaceAll("_", " "), value); }
function element(tag, props = {}, ...children) { const e = Object.assign(document.createElement(tag), props); e.append(...children); return e; }
function labelled(text, control) { return element("label", {}, text + " ", control); }
function pre(value) { return element("pre", { textContent: JSON.stringify(value, null, 1) }); }

// ------------------------------------------------------------------------------------------ conditions

function conditionRow(leaf = { field: "intent", op: "eq", value: "" }, negated = false) {
  const field = element("select", { className: "c-field" });
  field.append(...Object.keys(language.fields).map((f) => option(f)));
  field.value = leaf.field;
  const op = element("select", { className: "c-op" });
  op.append(...language.operators.map((o) => option(o)));
  op.value = leaf.op;
  const value = element("input", { className: "c-value", size: 18 });
  value.value = Array.isArray(leaf.value) ? leaf.value.join(", ") : (leaf.value ?? "");
  const not = element("input", { type: "checkbox", className: "c-not", checked: negated });
  const remove = element("button", { type: "button", textContent: "Remove" });
  const row = element("div", { className: "row condition" }, labelled("not", not), labelled("Field", field),
    labelled("Operator", op), labelled("Value", value), remove);
  const toggle = () => { value.disabled = op.value === "is_set" || op.value === "is_not_set"; };
  op.addEventListener("change", toggle);
  toggle();
  remove.addEventListener("click", () => row.remove());
  $("conditions").append(row);
}

function parseValue(field, op, text) {
  if (op === "is_set" || op === "is_not_set") return undefined;
  const kind = language.fields[field];
  const one = (t) => {
    t = t.trim();
    if (kind === "number") { const n = Number(t); if (t === "" || Number.isNaN(n)) throw new Error(`${field} needs a number`); return n; }
    if (kind === "boolean") return t === "true" || t === "yes";
    return t;
  };
  if (op === "in" || op === "not_in") return text.split(",").filter((t) => t.trim()).map(one);
  return one(text);
}

function conditions() {
  const leaves = [...document.querySelectorAll(".condition")].map((row) => {
    const field = row.querySelector(".c-field").value, op = row.querySelector(".c-op").value;
    const leaf = { field, op };
    const value = parseValue(field, op, row.querySelector(".c-value").value);
    if (value !== undefined) leaf.value = value;
    return row.querySelector(".c-not").checked ? { not: leaf } : leaf;
  });
  return leaves.length ? { [$("match").value]: leaves } : undefined;
}

// --------------------------------------------------------------------------------------------- actions

const PARAMETERS = {
  set_priority: [["value", "Priority (0-100)", "number"]],
  add_tag: [["tag", "Tag", "text"]],
  assign_team: [["skill", "Team", "skill"]],
  assign_agent: [["agent", "Agent's email", "email"]],
  retention_offer: [],
  send_message: [["text", "Message to the customer", "text"]],
  notify_supervisors: [["text", "Note for supervisors", "text"]],
  webhook: [["url", "URL", "url"], ["secret", "Signing secret (16+ characters)", "password"]],
  hand_back: [], close: [],
};

function actionRow(action = { type: "add_tag" }) {
  const type = element("select", { className: "a-type" });
  type.append(...language.actions.map((a) => option(a)));
  type.value = action.type;
  const params = element("span", { className: "row" });
  const remove = element("button", { type: "button", textContent: "Remove" });
  const row = element("div", { className: "row action" }, labelled("Do", type), params, remove);
  const fill = (values) => {
    params.replaceChildren(...PARAMETERS[type.value].map(([name, label, kind]) => {
      let control;
      if (kind === "skill") { control = element("select"); control.append(...language.skills.map((s) => option(s))); }
      else control = element("input", { type: kind, size: kind === "text" ? 40 : 20, min: 0, max: 100 });
      control.dataset.name = name;
      control.dataset.kind = kind;
      if (values[name] !== undefined) control.value = values[name];
      return labelled(label, control);
    }));
  };
  type.addEventListener("change", () => fill({}));
  fill(action);
  remove.addEventListener("click", () => row.remove());
  $("actions").append(row);
}

function actions() {
  return [...document.querySelectorAll(".action")].map((row) => {
    const action = { type: row.querySelector(".a-type").value };
    for (const control of row.querySelectorAll("[data-name]")) {
      action[control.dataset.name] = control.dataset.kind === "number" ? Number(control.value) : control.value.trim();
    }
    return action;
  });
}

// ---------------------------------------------------------------------------------------------- rule

function definition() {
  const trigger = { type: $("trigger").value };
  if (language.timed_triggers.includes(trigger.type)) trigger.minutes = Number($("minutes").value);
  if (trigger.type === "first_response_sla") trigger.percent = Number($("percent").value);
  if (trigger.type === "score_crossed") { trigger.score = $("score").value; trigger.threshold = Number($("threshold").value); }
  const out = { trigger, actions: actions(), active: $("active").value };
  const when = conditions();
  if (when) out.conditions = when;
  if (out.active !== "always") {
    const days = [...document.querySelectorAll(".day:checked")].map((d) => Number(d.value));
    const holidays = $("holidays").value.split(",").map((h) => h.trim()).filter(Boolean);
    out.calendar = { timezone: $("tz").value.trim() || "UTC", days, opens: $("opens").value, closes: $("closes").value, holidays };
  }
  return out;
}

function showTriggerParameters() {
  const type = $("trigger").value;
  $("minutes-label").hidden = !language.timed_triggers.includes(type);
  $("score-label").hidden = $("threshold-label").hidden = type !== "score_crossed";
  $("percent-label").hidden = type !== "first_response_sla";
}

function load(rule) {
  current = rule;
  const version = rule ? rule.latest_version : null;
  const d = version ? version.definition : { trigger: { type: "message_received" }, actions: [{ type: "add_tag", tag: "" }] };
  $("builder-title").textContent = rule ? `Edit “${rule.name}” (saving makes version ${rule.versions + 1})` : "New rule";
  $("name").value = rule ? rule.name : "";
  $("name").disabled = Boolean(rule);
  $("trigger").value = d.trigger.type;
  if (d.trigger.minutes) $("minutes").value = d.trigger.minutes;
  if (d.trigger.percent) $("percent").value = d.trigger.percent;
  if (d.trigger.score) { $("score").value = d.trigger.score; $("threshold").value = d.trigger.threshold; }
  showTriggerParameters();
  $("conditions").replaceChildren();
  const tree = d.conditions;
  if (tree) {
    const group = tree.all ? "all" : tree.any ? "any" : null;
    const items = group ? tree[group] : [tree];
    $("match").value = group || "all";
    for (const item of items) {
      if (item.field) conditionRow(item);
      else if (item.not && item.not.field) conditionRow(item.not, true);
      else say("Some conditions of this rule are nested deeper than the form shows; saving here replaces them.", "error");
    }
  }
  $("actions").replaceChildren();
  d.actions.forEach((a) => actionRow(a));
  $("active").value = d.active || "always";
  const calendar = d.calendar || {};
  $("tz").value = calendar.timezone || "UTC";
  $("opens").value = calendar.opens || "09:00";
  $("closes").value = calendar.closes || "17:00";
  $("holidays").value = (calendar.holidays || []).join(", ");
  const days = calendar.days || [0, 1, 2, 3, 4];
  document.querySelectorAll(".day").forEach((box) => { box.checked = days.includes(Number(box.value)); });
  $("dry-run").disabled = !rule;
  $("enable").disabled = !(version && version.dry_run_at);
  $("dry-run-results").hidden = true;
  if (rule) loadVersions(); else $("versions-section").hidden = true;
}

async function save(event) {
  event.preventDefault();
  try {
    const body = { definition: definition() };
    const rule = current
      ? await api(`/api/automation/rules/${current.id}`, { method: "PUT", json: body })
      : await api("/api/automation/rules", { method: "POST", json: { name: $("name").value.trim(), ...body } });
    load(rule);
    await loadRules();
    say(`Saved as version ${rule.latest_version.number}. Dry-run it before enabling.`, "ok");
  } catch (error) { if (error.message !== "signed out") say(error.message, "error"); }
}

async function dryRun() {
  try {
    const result = await api(`/api/automation/rules/${current.id}/dry-run?days=${Number($("days-back").value) || 7}`, { method: "POST" });
    const blocked = result.planned.filter((p) => p.outcome === "blocked").length;
    $("dry-run-summary").textContent = `${result.events} events in the last ${result.days} days; the rule would have acted on ` +
      `${result.matched_events}: ${result.planned.length - blocked} actions, ${blocked} blocked by the guardrails.`;
    $("planned").replaceChildren(...result.planned.map((p) => {
      const outcome = cell(p.outcome === "run" ? "would run" : `blocked: ${p.reason}`);
      if (p.outcome !== "run") outcome.className = "blocked";
      const what = element("td", {}, pre(p.action));
      return element("tr", {}, cell(new Date(p.event.at).toLocaleString()), cell(p.event.trigger.replaceAll("_", " ")),
        cell(p.event.conversation_id || "—"), what, outcome);
    }));
    $("dry-run-results").hidden = false;
    $("enable").disabled = false;
    await loadVersions();
    say("Dry-run recorded on this version: it can be enabled now.", "ok");
  } catch (error) { if (error.message !== "signed out") say(error.message, "error"); }
}

async function enable() {
  try {
    const rule = await api(`/api/automation/rules/${current.id}/enable`, { method: "POST" });
    current = rule;
    await Promise.all([loadRules(), loadVersions()]);
    say(`Enabled: version ${rule.active_version.number} runs from now on.`, "ok");
  } catch (error) { if (error.message !== "signed out") say(error.message, "error"); }
}

async function loadVersions() {
  const versions = await api(`/api/automation/rules/${current.id}/versions`);
  const active = current.active_version ? current.active_version.id : null;
  $("versions").replaceChildren(...versions.map((v) => element("tr", {},
    cell(`${v.number}${v.id === active ? " (active)" : ""}`), cell(new Date(v.created_at).toLocaleString()), cell(v.created_by),
    cell(v.dry_run_at ? `${new Date(v.dry_run_at).toLocaleString()}: ${v.dry_run_summary.actions} actions, ${v.dry_run_summary.blocked} blocked` : "not yet"),
    element("td", {}, pre(v.definition)))));
  $("versions-section").hidden = false;
}

async function rollback() {
  try {
    current = await api(`/api/automation/rules/${current.id}/rollback`, { method: "POST" });
    await Promise.all([loadRules(), loadVersions()]);
    say(`Rolled back: version ${current.active_version.number} is active.`, "ok");
  } catch (error) { if (error.message !== "signed out") say(error.message, "error"); }
}

async function toggle(rule) {
  try {
    const path = rule.enabled ? "disable" : `enable?version_id=${rule.active_version.id}`;
    await api(`/api/automation/rules/${rule.id}/${path}`, { method: "POST" });
    await loadRules();
  } catch (error) { if (error.message !== "signed out") say(error.message, "error"); }
}

async function loadRules() {
  const rules = await api("/api/automation/rules");
  $("rules").replaceChildren(...rules.map((rule) => {
    const edit = element("button", { type: "button", textContent: "Edit" });
    edit.addEventListener("click", () => load(rule));
    const onOff = element("button", { type: "button", textContent: rule.enabled ? "Disable" : "Enable active version" });
    onOff.addEventListener("click", () => toggle(rule));
    const running = rule.enabled ? `version ${rule.active_version.number}` : "off";
    return element("tr", {}, cell(rule.name), cell(rule.latest_version.definition.trigger.type.replaceAll("_", " ")),
      cell(running), cell(String(rule.latest_version.number)), element("td", {}, edit, " ", onOff));
  }));
}

async function loadExceptions() {
  const items = await api("/api/automation/exceptions?state=open");
  $("exceptions").replaceChildren(...items.map((item) => {
    const retry = element("button", { type: "button", textContent: "Retry" });
    const dismiss = element("button", { type: "button", textContent: "Dismiss" });
    const act = (what) => async () => {
      try { await api(`/api/automation/exceptions/${item.id}/${what}`, { method: "POST" }); await loadExceptions(); }
      catch (error) { if (error.message !== "signed out") say(error.message, "error"); }
    };
    retry.addEventListener("click", act("retry"));
    dismiss.addEventListener("click", act("dismiss"));
    return element("tr", {}, cell(new Date(item.created_at).toLocaleString()), cell(`rule ${item.rule_id}`),
      cell(item.action.type.replaceAll("_", " ")), cell(`${item.kind}: ${item.reason}`), cell(item.conversation_id || "—"),
      element("td", {}, retry, " ", dismiss));
  }));
}

async function onSignedIn() {
  language = await api("/api/automation/schema");
  $("trigger").replaceChildren(...language.triggers.map((t) => option(t)));
  $("score").replaceChildren(...language.scores.map((s) => option(s)));
  $("days").replaceChildren(...DAYS.map((name, i) => labelled(name, element("input", { type: "checkbox", className: "day", value: i }))));
  load(null);
  $("builder-fields").disabled = false;
  await Promise.all([loadRules(), loadExceptions()]);
}

$("trigger").addEventListener("change", showTriggerParameters);
$("add-condition").addEventListener("click", () => conditionRow());
$("add-action").addEventListener("click", () => actionRow());
$("builder").addEventListener("submit", save);
$("dry-run").addEventListener("click", dryRun);
$("enable").addEventListener("click", enable);
$("rollback").addEventListener("click", rollback);
$("new-rule").addEventListener("click", () => load(null));
StaffSession.start({ say, onSignedIn, prompt: "Sign in with an admin account to edit automation rules." });
