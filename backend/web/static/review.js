// Review queue for supervisors: the day's sample of automated decisions, each with its evidence (inputs,
// scores, threshold, version and the conversation around it), label buttons and a progress count.
// Every text from the data goes in with textContent, never as HTML; bot and agent messages are drawn with the
// widget's Markdown subset (markdown.js builds DOM nodes from text, never HTML), as the customer saw them.
"use strict";
const $ = (id) => document.getElementById(id);
const api = StaffSession.api;
const { el } = Decisions;
const EXCERPT_BEFORE = 4; // messages before the decided one: enough to see what led to it
const EXCERPT_AFTER = 2; // and what followed: the bot's answer, or the customer's reaction
const conversations = new Map(); // conversation id -> its detail (a promise), fetched once per page load
let sample = [];
// Why an item is in the sample: the sampler takes more of the overridden and low-confidence decisions.
const STRATA = { overridden: "overridden", low_confidence: "low confidence", other: "a random pick" };

function say(text, className = "muted") { $("status").textContent = text; $("status").className = className; }

// The API's days are UTC days; so is the default.
function todayUtc() { return new Date().toISOString().slice(0, 10); }

function progress() {
  const labelled = sample.filter((d) => d.feedback_label).length;
  $("progress").textContent = sample.length ? `${labelled} of ${sample.length} labelled` : "";
}

function facts(rows) {
  const list = el("dl", undefined, "facts");
  for (const [name, value] of rows) list.append(el("dt", name), el("dd", value));
  return list;
}

function conversation(id) {
  if (!conversations.has(id)) {
    const request = api(`/api/v1/conversations/${encodeURIComponent(id)}`);
    request.catch(() => conversations.delete(id)); // a failed fetch is tried again on the next load
    conversations.set(id, request);
  }
  return conversations.get(id);
}

// Where in the conversation the decision was taken: its message, else the last message before it.
function decidedAt(messages, decision) {
  const exact = messages.findIndex((m) => m.id === decision.message_id);
  if (exact >= 0) return exact;
  const when = new Date(decision.created_at);
  let at = -1;
  messages.forEach((m, i) => { if (new Date(m.created_at) <= when) at = i; });
  return at < 0 ? messages.length - 1 : at;
}

function messageItem(m, decided) {
  const li = el("li", undefined, m.sender);
  const who = m.sender === "agent" ? (m.author_name || "agent") : m.sender;
  const facts = [who, new Date(m.created_at).toLocaleTimeString()];
  if (m.intent) facts.push(`intent ${m.intent} (${(m.intent_confidence ?? 0).toFixed(2)})`);
  if (m.sentiment_label) facts.push(`sentiment ${m.sentiment_label}`);
  if (decided) { li.classList.add("decided"); facts.push("decided here"); }
  li.append(el("span", facts.join(" · "), "who"), messageBody(m));
  return li;
}

// The customer's own words and system notices stay plain text, as in the widget and the inbox.
function messageBody(m) {
  if (m.sender !== "bot" && m.sender !== "agent") return el("span", m.text);
  return SupportdeskMarkdown.render(m.text || "");
}

async function fillExcerpt(list, decision) {
  if (!decision.conversation_id) { list.replaceChildren(el("li", "Not a conversation decision.", "muted")); return; }
  try {
    const { messages } = await conversation(decision.conversation_id);
    if (!messages.length) { list.replaceChildren(el("li", "The conversation has no messages.", "muted")); return; }
    const at = decidedAt(messages, decision);
    const shown = messages.slice(Math.max(0, at - EXCERPT_BEFORE), at + EXCERPT_AFTER + 1);
    list.replaceChildren(...shown.map((m) => messageItem(m, m === messages[at])));
  } catch (error) {
    if (error.message !== "signed out") list.replaceChildren(el("li", `Conversation not available (${error.message}).`, "muted"));
  }
}

function item(decision) {
  const li = el("li", undefined, "item");
  li.dataset.decisionId = decision.id;
  li.dataset.kind = decision.kind;
  li.dataset.labelled = String(Boolean(decision.feedback_label));
  const heading = el("h2", `${Decisions.kindName(decision.kind)} #${decision.id}: ${Decisions.value(decision.action)}`);
  heading.id = `decision-${decision.id}-h`;
  li.setAttribute("aria-labelledby", heading.id);
  const why = el("p", `${Decisions.scoreVsThreshold(decision)} · sampled as ${STRATA[decision.stratum] || "other"}`, "muted");
  const excerpt = el("ol", undefined, "excerpt");
  excerpt.setAttribute("aria-label", `Conversation around decision #${decision.id}`);
  excerpt.append(el("li", "Loading the conversation…", "muted"));
  const evidence = el("div", undefined, "evidence");
  const left = el("div");
  left.append(el("h3", "Evidence"), facts(Decisions.evidence(decision)));
  const right = el("div");
  right.append(el("h3", "Conversation"), excerpt);
  evidence.append(left, right);
  const send = (label, note) => api(`${Decisions.API}/review-queue/${decision.id}`, { method: "POST", json: { label, note } });
  const controls = Decisions.labelControls(decision, send, {
    question: `Label ${Decisions.kindName(decision.kind).toLowerCase()} decision #${decision.id}`,
    onDone: () => { li.dataset.labelled = "true"; progress(); },
  });
  controls.classList.add("label");
  li.append(heading, why, evidence, controls);
  fillExcerpt(excerpt, decision);
  return li;
}

// Labelled items stay in view when labelled (the focus stays put); the box hides them on demand.
function applyFilter() {
  const hide = $("hide-labelled").checked;
  for (const li of $("items").children) li.hidden = hide && li.dataset.labelled === "true";
}
$("hide-labelled").addEventListener("change", applyFilter);

async function loadDay() {
  const day = $("day").value || todayUtc();
  say(`Loading the sample of ${day}…`);
  sample = await api(`${Decisions.API}/review-queue?day=${encodeURIComponent(day)}`);
  $("items").replaceChildren(...sample.map(item));
  applyFilter();
  progress();
  say(sample.length ? `${sample.length} decisions sampled on ${day}.` : `No decisions were sampled on ${day}.`);
  document.body.dataset.loaded = day;
}

$("pick").addEventListener("submit", async (event) => {
  event.preventDefault();
  try { await loadDay(); } catch (error) { if (error.message !== "signed out") say(error.message, "error"); }
});

$("day").value = new URLSearchParams(location.search).get("day") || todayUtc();
StaffSession.start({ say, prompt: "Sign in with a supervisor or admin account.", onSignedIn: loadDay });
