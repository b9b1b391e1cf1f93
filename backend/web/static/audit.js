// Audit log for admins: who did what to which record and when, with before and after, filtered and paged.
// Every value goes in with textContent: actors, actions and snapshots are data, never markup.
"use strict";
const $ = (id) => document.getElementById(id);
const api = StaffSession.api;
const PAGE_SIZE = 50;
let offset = 0;

function say(text, className = "muted") { $("status").textContent = text; $("status").className = className; }
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

function snapshot(value) {
  const td = document.createElement("td");
  if (value === null || value === undefined) { td.textContent = "—"; return td; }
  const pre = document.createElement("pre");
  pre.textContent = JSON.stringify(value, null, 1);
  td.append(pre);
  return td;
}

// The datetime-local inputs are in the admin's own time zone; the API wants an instant with its zone.
function instant(id) { const value = $(id).value; return value ? new Date(value).toISOString() : ""; }

function query() {
  const params = new URLSearchParams({ limit: PAGE_SIZE, offset });
  const fields = { action: $("f-action").value, actor: $("f-actor").value.trim(), entity_type: $("f-entity-type").value.trim(),
    entity_id: $("f-entity-id").value.trim(), since: instant("f-since"), until: instant("f-until") };
  for (const [name, value] of Object.entries(fields)) if (value) params.set(name, value);
  return params;
}

async function loadActions() {
  const actions = await api("/api/v1/audit/actions");
  const select = $("f-action");
  const families = [...new Set(actions.map((a) => a.split(".")[0]))].map((f) => `${f}.*`);
  select.replaceChildren(new Option("any", ""), ...families.map((f) => new Option(`${f} (all)`, f)), ...actions.map((a) => new Option(a, a)));
}

async function loadEvents() {
  try {
    const page = await api(`/api/v1/audit?${query()}`);
    $("events").replaceChildren(...page.items.map((e) => {
      const row = document.createElement("tr");
      row.append(cell(new Date(e.created_at).toLocaleString()), cell(e.actor), cell(e.action),
        cell(`${e.entity_type} ${e.entity_id}`), snapshot(e.before), snapshot(e.after));
      return row;
    }));
    const last = Math.min(page.offset + page.items.length, page.total);
    $("page").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "No events match.";
    $("newer").disabled = page.offset === 0;
    $("older").disabled = last >= page.total;
    say("");
  } catch (error) { if (error.message !== "signed out") say(error.message, "error"); }
}

$("filters").addEventListener("submit", (event) => { event.preventDefault(); offset = 0; loadEvents(); });
$("filters").addEventListener("reset", () => { offset = 0; setTimeout(loadEvents); });
$("newer").addEventListener("click", () => { offset = Math.max(0, offset - PAGE_SIZE); loadEvents(); });
$("older").addEventListener("click", () => { offset += PAGE_SIZE; loadEvents(); });

StaffSession.start({ say, prompt: "Sign in with an admin account.", onSignedIn: async () => { await loadActions(); await loadEvents(); } });
