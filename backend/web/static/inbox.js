// Agent inbox: sign in, receive routed cases live, read the transcript and customer context, reply,
// resolve, hand back or transfer; say whether the hand-off and the bot's knowledge answers were right, and
// override the priority or assignee. Every text from customers or staff goes in with textContent, never as HTML;
// bot and agent messages get the widget's Markdown subset (markdown.js), built from DOM nodes the same way.
"use strict";
const state = { token: sessionStorage.getItem("sd-staff-token"), me: null, cases: [], current: null, socket: null, reconnectDelay: 2000,
  kbAnswers: new Map() };
const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}), authorization: `Bearer ${state.token}` };
  if (options.json !== undefined) { headers["content-type"] = "application/json"; options.body = JSON.stringify(options.json); }
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) { signOut(); throw new Error("signed out"); }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error((body && (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail))) || response.statusText);
  return body;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

// ---- sign-in ------------------------------------------------------------------------------------------
$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/api/v1/auth/token", { method: "POST", body: new URLSearchParams(form) });
  if (!response.ok) { $("login-error").textContent = (await response.json()).detail || "Sign-in failed"; return; }
  const body = await response.json();
  state.token = body.access_token;
  sessionStorage.setItem("sd-staff-token", state.token);
  start();
});

function signOut() {
  sessionStorage.removeItem("sd-staff-token");
  state.token = null;
  if (state.socket) state.socket.close();
  $("app").hidden = true;
  $("login").hidden = false;
}
$("logout").addEventListener("click", signOut);

async function start() {
  state.me = await api("/api/v1/auth/me");
  $("login").hidden = true;
  $("app").hidden = false;
  $("me").textContent = `${state.me.name} · ${state.me.role}${state.me.team ? " · " + state.me.team : ""}`;
  $("status").value = state.me.status;
  $("queue-box").hidden = state.me.role === "agent";
  connect();
  await refreshCases();
}

$("status").addEventListener("change", async (event) => {
  state.me = await api("/api/v1/agents/me/status", { method: "PUT", json: { status: event.target.value } });
  await refreshCases();
});

// ---- live feed ----------------------------------------------------------------------------------------
function connect() {
  // The token goes as a subprotocol, never in the URL, which access logs record (backend/auth/sockets.py).
  const socket = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws/agent`, ["supportdesk", `bearer.${state.token}`]);
  state.socket = socket;
  let opened = false;
  socket.addEventListener("open", () => { opened = true; state.reconnectDelay = 2000; $("live").textContent = "live"; });
  socket.addEventListener("close", async (event) => {
    $("live").textContent = "reconnecting…";
    // A refused handshake reaches the browser as 1006, not the server's 1008, so a revoked or expired token
    // would be retried forever: ask the API, which signs out on 401, before trying again.
    if (!opened && state.token) await api("/api/v1/auth/me").catch(() => {});
    if (!state.token || event.code === 1008) return;
    const delay = state.reconnectDelay || 2000;
    state.reconnectDelay = Math.min(delay * 2, 30000); // back off while the server is away
    setTimeout(connect, delay);
  });
  socket.addEventListener("message", (event) => onEvent(JSON.parse(event.data)));
}

function onEvent(event) {
  Assist.onEvent(event); // unread counts, browser notifications of new offers
  if (event.type === "case_assigned" || event.type === "case_removed") refreshCases();
  if (event.type === "sla_breach") addAlert(event.case);
  if (event.type === "message" && state.current && event.message.conversation_id === state.current.conversation_id) {
    appendMessage(event.message);
    if (event.message.sender === "customer") suggest();
  }
}

function addAlert(c) {
  $("alerts").prepend(el("li", `Case #${c.id} (${c.skill}) missed its first-response deadline`, "breached"));
}

// ---- case lists ---------------------------------------------------------------------------------------
function dueText(c) {
  if (!c.sla_due_at || c.first_response_at) return "";
  const minutes = Math.round((new Date(c.sla_due_at) - Date.now()) / 60000);
  return minutes < 0 ? `SLA breached ${-minutes} min ago` : `first reply due in ${minutes} min`;
}

function caseItem(c) {
  const li = el("li");
  li.tabIndex = 0;
  li.dataset.caseId = c.id;
  li.setAttribute("aria-current", String(state.current && state.current.id === c.id));
  li.append(el("div", `#${c.id} · ${c.skill} · ${c.status}`), el("div", c.reason, "meta"));
  const unread = Assist.unread(c.conversation_id);
  if (unread) li.append(el("span", `${unread} unread`, "unread"));
  const due = dueText(c);
  li.append(el("div", `priority ${c.priority.toFixed(0)}${due ? " · " + due : ""}`, due.startsWith("SLA") ? "meta breached" : "meta"));
  const open = () => openCase(c.id);
  li.addEventListener("click", open);
  li.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); else moveFocus(e); });
  return li;
}

// Keyboard navigation in a list of cases: the arrow keys move between its items, Home and End to its ends.
function moveFocus(event) {
  const items = [...event.currentTarget.parentElement.querySelectorAll("li[tabindex]")];
  const at = items.indexOf(event.currentTarget);
  const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[event.key];
  if (to === undefined || !items[to]) return;
  event.preventDefault();
  items[to].focus();
}

async function refreshCases() {
  const mine = await api("/api/v1/cases?mine=true&limit=100");
  state.cases = mine.filter((c) => c.status !== "resolved");
  state.queued = state.me.role !== "agent" ? await api("/api/v1/cases?status=queued&limit=100") : [];
  renderCases();
}

// The lists as the filters (status, team, priority, SLA) and unread counts say; no request needed.
function renderCases() {
  $("cases").replaceChildren(...state.cases.filter(Assist.matches).map(caseItem));
  if (state.me.role !== "agent") $("queue").replaceChildren(...state.queued.filter(Assist.matches).map(caseItem));
}

// ---- one case -----------------------------------------------------------------------------------------
// The conversation's sentiment trajectory in words: latest score, direction, negative streak.
function sentimentText(trend) {
  if (!trend || trend.latest === null) return "no sentiment yet";
  const direction = trend.trend < -0.05 ? "falling" : trend.trend > 0.05 ? "rising" : "steady";
  const streak = trend.negative_streak > 1 ? `, ${trend.negative_streak} negative in a row` : "";
  return `sentiment ${trend.latest.toFixed(2)} ${direction}${streak}`;
}

async function openCase(id) {
  $("action-error").textContent = "";
  Assist.markRead(id);
  const detail = await api(`/api/v1/cases/${id}`);
  state.current = detail;
  for (const li of document.querySelectorAll(".cases li")) li.setAttribute("aria-current", String(Number(li.dataset.caseId) === id));
  const percent = (x) => (x === null || x === undefined ? "—" : `${Math.round(x * 100)}%`);
  const scores = `escalation risk ${percent(detail.escalation_risk)} · churn risk ${percent(detail.churn_risk)} · ${sentimentText(detail.sentiment)}`;
  $("case-summary").textContent = `Case #${detail.id} · ${detail.skill} · ${detail.status} · ${scores} · ${detail.reason}`;
  const logged = await caseDecisions(detail);
  const decisions = Array.isArray(logged) ? logged : [];
  state.kbAnswers = kbAnswersByMessage(detail.messages, decisions);
  showHandoffDecision(detail, decisions, logged.unavailable);
  $("transcript").replaceChildren();
  detail.messages.forEach(appendMessage);
  Assist.open(detail);
  showOverride(detail);
  const active = detail.status === "assigned" || detail.status === "accepted";
  $("reply").hidden = !active;
  $("actions").hidden = !active;
  $("accept").hidden = detail.status !== "assigned";
  showCustomer(detail);
  const lastQuestion = [...detail.messages].reverse().find((m) => m.sender === "customer");
  if (lastQuestion) suggest(); else $("suggestions").replaceChildren();
}

function appendMessage(m) {
  const li = el("li", undefined, m.sender);
  li.id = `msg-${m.id}`; // the brief's statements link here
  const who = m.sender === "agent" ? (m.author_name || "agent") : m.sender;
  const facts = [who, new Date(m.created_at).toLocaleTimeString()];
  if (m.intent) facts.push(`intent ${m.intent} (${(m.intent_confidence ?? 0).toFixed(2)})`);
  li.append(el("div", facts.join(" · "), "who"));
  li.append(messageBody(m));
  if (m.sentiment_label) li.append(el("div", `sentiment ${m.sentiment_label} (${m.sentiment_score.toFixed(2)})`, `who sentiment-${m.sentiment_label}`));
  const answer = state.kbAnswers.get(m.id);
  if (answer) {
    const said = answer.action === "not_sure" ? "knowledge search: not sure" : "knowledge answer";
    li.append(el("div", `${said} · ${answer.reasons.join("; ")} · ${Decisions.scoreVsThreshold(answer)} · ${Decisions.versionText(answer)}`, "kb-tag"));
    li.append(Decisions.labelControls(answer, (label, note) => sendFeedback(answer, label, note),
      { question: `Was the knowledge answer at ${new Date(m.created_at).toLocaleTimeString()} right?` }));
  }
  $("transcript").append(li);
  $("transcript").scrollTop = $("transcript").scrollHeight;
}

// Bot and agent messages as the customer's widget draws them: the shared Markdown subset (markdown.js), built
// from DOM nodes and text, never HTML. The customer's own words and system notices stay plain text, as there.
function messageBody(m) {
  if (m.sender !== "bot" && m.sender !== "agent") return el("div", m.text, "text");
  const body = SupportdeskMarkdown.render(m.text || "");
  body.classList.add("text");
  return body;
}

function showCustomer(detail) {
  const c = detail.customer;
  const facts = $("customer");
  facts.replaceChildren();
  if (!c) { facts.append(el("dt", "Visitor"), el("dd", "not signed in")); $("churn").textContent = "—"; }
  else {
    for (const [k, v] of [["Name", c.name], ["Email", c.email], ["Plan", `${c.plan} · ${c.contract}`], ["Monthly", c.monthly_charge],
      ["Customer since", c.signup_date], ["Lifetime value", c.lifetime_value], ["Status", c.status]]) facts.append(el("dt", k), el("dd", v));
    showChurn(c.id);
    showPreferences(c.id, facts);
  }
  $("open-cases").replaceChildren(...detail.customer_open_cases.map((o) => el("li", `#${o.id} ${o.skill} · ${o.status}`)));
  $("past").replaceChildren(...detail.customer_past_conversations.map((p) => el("li", `${new Date(p.started_at).toLocaleDateString()} · ${p.status}`)));
}

// Lifetime value estimate (ml/clv.py) and what the customer allows: marketing consent, channels.
async function showPreferences(customerId, facts) {
  try {
    const p = await api(`/api/v1/customers/${customerId}/preferences`);
    const value = p.lifetime_value_estimate === null ? "not computed" : `$${p.lifetime_value_estimate.toFixed(0)} expected`;
    const clv = el("dd", value);
    if (p.lifetime_value_method) clv.title = p.lifetime_value_method;
    const consent = p.marketing_consent ? `yes · ${p.contact_channels.join(", ") || "no channel"}` : "no";
    facts.append(el("dt", "Value ahead"), clv, el("dt", "Marketing consent"), el("dd", consent));
  } catch (error) { if (error.message === "signed out") throw error; }
}

async function showChurn(customerId) {
  const box = $("churn");
  try {
    const risk = await api(`/api/v1/customers/${customerId}/churn-risk`);
    box.replaceChildren(el("div", `${Math.round(risk.score * 100)}% (${risk.model_version || "model"})`));
    const reasons = el("ul", undefined, "plain");
    for (const r of risk.reasons || []) reasons.append(el("li", typeof r === "string" ? r : r.text || r.label || JSON.stringify(r)));
    box.append(reasons);
  } catch (error) { box.textContent = `not available (${error.message})`; }
}

// Suggested replies (knowledge passages and past agent replies, ranked) come from agent assist (assist.js).
function suggest() {
  if (state.current) Assist.suggest(state.current);
}

// ---- decisions: why the bot handed over, knowledge answers, overrides ---------------------------------------
// The decision log is an aid beside the case: when it cannot be read the case still opens, with a note.
async function caseDecisions(detail) {
  const query = new URLSearchParams({ conversation_id: detail.conversation_id, limit: "200" });
  try { return await api(`${Decisions.API}/decisions?${query}`); } catch (error) {
    if (error.message === "signed out") throw error;
    return { unavailable: error.message };
  }
}

// The hand-off that opened this case: the one logged against it, else the conversation's latest hand-off
// decision that did hand over (earlier turns log the bot keeping the conversation too).
function caseHandoff(detail, decisions) {
  const handoffs = decisions.filter((d) => d.kind === "handoff")
    .sort((a, b) => new Date(b.created_at) - new Date(a.created_at));
  return handoffs.find((d) => d.case_id === detail.id)
    || handoffs.find((d) => d.action === "handoff") || handoffs[0] || null;
}

function showHandoffDecision(detail, decisions, unavailable) {
  const decision = caseHandoff(detail, decisions);
  $("handoff-decision").hidden = false;
  $("handoff-label").replaceChildren();
  $("handoff-facts").textContent = "";
  if (!decision) {
    $("handoff-why").textContent = unavailable ? `Decision log not available (${unavailable}).`
      : "No automated hand-off decision was logged for this conversation.";
    if (!unavailable && !detail.handoffRetried) retryHandoffDecision(detail);
    return;
  }
  const reasons = Array.isArray(decision.reasons) && decision.reasons.length ? decision.reasons.join("; ") : detail.reason;
  $("handoff-why").textContent = `${Decisions.value(decision.action)}: ${reasons}`;
  $("handoff-facts").textContent = `${Decisions.scoreVsThreshold(decision)} · ${Decisions.versionText(decision)}`
    + ` · ${new Date(decision.created_at).toLocaleTimeString()}`;
  $("handoff-label").append(Decisions.labelControls(decision, (label, note) => sendFeedback(decision, label, note),
    { question: "Was this hand-off needed?" }));
}

// The hub logs a turn's hand-off decision just after the case it opened is stored, so a case opened at once
// can be ahead of its decision: look once more a moment later, if the agent is still on that case.
const HANDOFF_RETRY_MS = 3000;
function retryHandoffDecision(detail) {
  detail.handoffRetried = true;
  setTimeout(async () => {
    if (!state.current || state.current.id !== detail.id) return;
    const logged = await caseDecisions(detail).catch(() => null); // signed out meanwhile: nothing to show
    if (Array.isArray(logged) && state.current && state.current.id === detail.id) showHandoffDecision(detail, logged);
  }, HANDOFF_RETRY_MS);
}

// Each knowledge-answer decision is shown beside the bot message that carried it: the reply to its message
// when it names one, else the first bot reply stored after it (the search runs inside the turn, before the
// replies are stored). A later search in the same turn replaces an earlier one.
function kbAnswersByMessage(messages, decisions) {
  const answers = new Map();
  const bot = messages.filter((m) => m.sender === "bot");
  for (const d of decisions.filter((x) => x.kind === "kb_answer").sort((a, b) => a.id - b.id)) {
    const asked = messages.find((m) => m.id === d.message_id);
    const after = asked ? new Date(asked.created_at) : new Date(d.created_at);
    const reply = d.message_id !== null && bot.some((m) => m.id === d.message_id)
      ? bot.find((m) => m.id === d.message_id) : bot.find((m) => new Date(m.created_at) >= after);
    if (reply) answers.set(reply.id, d);
  }
  return answers;
}

function sendFeedback(decision, label, note) {
  return api(`${Decisions.API}/decisions/${decision.id}/feedback`, { method: "POST", json: { label, note } });
}

async function showOverride(detail) {
  const form = $("override");
  form.hidden = detail.status === "resolved";
  if (form.hidden) return;
  $("override-priority").placeholder = detail.priority.toFixed(0);
  $("override-result").textContent = "";
  // Statuses change, so the list is read again per case; a case can only go to an online agent.
  let agents = [];
  try { agents = await api("/api/v1/agents"); } catch (error) { if (error.message === "signed out") return; }
  const options = agents.map((a) => {
    const option = new Option(`${a.name} (${a.team || a.role}${a.status === "online" ? "" : ", " + a.status})`, a.id);
    option.disabled = a.status !== "online" || a.id === detail.assigned_agent_id;
    return option;
  });
  $("override-agent").replaceChildren(new Option("keep the assignee", ""), ...options);
}

$("override").addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = $("override-result");
  const priorityText = $("override-priority").value.trim();
  const agentText = $("override-agent").value;
  if (!priorityText && !agentText) { result.textContent = "Give a new priority, an agent, or both."; result.className = "error"; return; }
  const body = { priority: priorityText ? Number(priorityText) : null, agent_id: agentText ? Number(agentText) : null,
    reason: $("override-reason").value.trim() };
  const caseId = state.current.id;
  const agentName = agentText ? $("override-agent").selectedOptions[0].text : "";
  try {
    await api(`${Decisions.API}/cases/${caseId}/override`, { method: "POST", json: body });
  } catch (error) { result.textContent = `Not overridden: ${error.message}`; result.className = "error"; return; }
  event.target.reset();
  await refreshCases();
  const what = [body.priority !== null ? `priority ${body.priority}` : "", agentName ? `reassigned to ${agentName}` : ""];
  const done = `Case #${caseId} overridden: ${what.filter(Boolean).join(", ")}. Logged as a decision of its own.`;
  if (state.cases.some((c) => c.id === caseId) || state.me.role !== "agent") {
    await openCase(caseId);
    result.textContent = done;
    result.className = "ok";
  } else { // reassigned away from this agent: the case is no longer theirs to show
    state.current = null;
    $("reply").hidden = $("actions").hidden = $("override").hidden = $("handoff-decision").hidden = $("brief").hidden = true;
    $("transcript").replaceChildren();
    $("case-summary").textContent = done;
  }
});

async function act(path, body) {
  $("action-error").textContent = "";
  let result;
  try {
    result = await api(`/api/v1/cases/${state.current.id}/${path}`, { method: "POST", json: body });
  } catch (error) { $("action-error").textContent = error.message; return; }
  if (path === "messages") await Assist.sent(state.current, result); // used, edited or ignored: logged
  await refreshCases();
  if (path === "resolve" || path === "handback" || path === "transfer") {
    state.current = null;
    $("reply").hidden = $("actions").hidden = $("override").hidden = $("handoff-decision").hidden = $("brief").hidden = true;
    $("case-summary").textContent = "Done. Select a case.";
  } else await openCase(state.current.id);
}

$("reply").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text) return;
  const macro = Assist.takeMacro(); // a macro chosen with "/" is sent with its effects (tags, priority, resolve)
  if (macro) { await sendMacro(macro, text); return; }
  $("reply-text").value = "";
  await act("messages", { text });
});
async function sendMacro(macro, text) {
  $("action-error").textContent = "";
  const detail = state.current;
  let message;
  try {
    message = await api(`/api/assist/cases/${detail.id}/macros/${macro.id}/send`, { method: "POST", json: { text } });
  } catch (error) { $("action-error").textContent = error.message; return; }
  $("reply-text").value = "";
  await Assist.sent(detail, message);
  await refreshCases();
  if (macro.effects.resolve) {
    state.current = null;
    $("reply").hidden = $("actions").hidden = $("override").hidden = $("handoff-decision").hidden = $("brief").hidden = true;
    $("case-summary").textContent = "Sent and resolved. Select a case.";
  } else await openCase(detail.id);
}
$("accept").addEventListener("click", () => act("accept"));
$("resolve").addEventListener("click", () => act("resolve", { disposition: $("disposition").value }));
$("handback").addEventListener("click", () => act("handback"));
$("transfer").addEventListener("click", () => act("transfer", { skill: $("transfer-skill").value }));

if (state.token) start().catch(signOut);
