// Admin view of the knowledge base: list, create, edit, publish, delete, import, and preview what the bot
// would answer. Every article text goes in with textContent (or form values), never as HTML.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { articles: [], current: null };
const api = StaffSession.api;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function say(text, kind = "muted") { const s = $("status"); s.textContent = text; s.className = kind; }

// ---- the list ------------------------------------------------------------------------------------------
async function loadArticles() {
  const filter = $("filter").value;
  state.articles = await api(`/api/v1/kb/articles${filter ? `?status=${filter}` : ""}`);
  const body = $("articles");
  body.replaceChildren(...state.articles.map((a) => {
    const row = el("tr");
    row.tabIndex = 0;
    if (state.current && state.current.slug === a.slug) row.className = "selected";
    for (const value of [a.title, a.status, a.version, a.tags.join(", "), new Date(a.updated_at).toLocaleString()]) {
      row.appendChild(el("td", value));
    }
    row.addEventListener("click", () => openArticle(a.slug));
    row.addEventListener("keydown", (event) => { if (event.key === "Enter") openArticle(a.slug); });
    return row;
  }));
}

// ---- the editor ----------------------------------------------------------------------------------------
function showEditor(article) {
  state.current = article;
  $("editor-title").textContent = article ? `Edit: ${article.title}` : "New article";
  $("title").value = article ? article.title : "";
  $("tags").value = article ? article.tags.join(", ") : "";
  $("status-field").value = article ? article.status : "draft";
  $("body").value = article ? article.body : "";
  $("publish").hidden = !article || article.status === "published";
  $("unpublish").hidden = !article || article.status !== "published";
  $("delete").hidden = !article;
  $("view").hidden = !article || article.status !== "published";
  if (article) $("view").href = article.url;
  $("versions").replaceChildren();
  if (article) loadVersions(article.slug);
}

async function openArticle(slug) {
  try {
    showEditor(await api(`/api/v1/kb/articles/${encodeURIComponent(slug)}`));
    await loadArticles();
  } catch (error) { say(error.message, "error"); }
}

async function loadVersions(slug) {
  const versions = await api(`/api/v1/kb/articles/${encodeURIComponent(slug)}/versions`);
  $("versions").replaceChildren(...versions.map((v) =>
    el("li", `v${v.version} · ${v.status} · ${v.author} · ${new Date(v.created_at).toLocaleString()} · ${v.title}`)));
}

function formArticle() {
  const tags = $("tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  return { title: $("title").value, body: $("body").value, tags, status: $("status-field").value };
}

$("editor").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const data = formArticle();
    const saved = state.current
      ? await api(`/api/v1/kb/articles/${encodeURIComponent(state.current.slug)}`, { method: "PATCH", json: data })
      : await api("/api/v1/kb/articles", { method: "POST", json: data });
    showEditor(saved);
    say(`Saved "${saved.title}" (version ${saved.version}).`, "ok");
    await loadArticles();
  } catch (error) { say(`Not saved: ${error.message}`, "error"); }
});

async function action(path, method, done) {
  try {
    const result = await api(`/api/v1/kb/articles/${encodeURIComponent(state.current.slug)}${path}`, { method });
    done(result);
    await loadArticles();
  } catch (error) { say(error.message, "error"); }
}

$("publish").addEventListener("click", () => action("/publish", "POST", (a) => { showEditor(a); say(`Published "${a.title}".`, "ok"); }));
$("unpublish").addEventListener("click", () => action("/unpublish", "POST", (a) => { showEditor(a); say(`"${a.title}" is a draft again.`, "ok"); }));
$("delete").addEventListener("click", () => {
  const title = state.current.title;
  if (!window.confirm(`Delete "${title}" and its history?`)) return;
  action("", "DELETE", () => { showEditor(null); say(`Deleted "${title}".`, "ok"); });
});
$("new").addEventListener("click", () => { showEditor(null); loadArticles(); });
$("filter").addEventListener("change", loadArticles);

// ---- preview -------------------------------------------------------------------------------------------
$("preview").addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = $("answer");
  try {
    const found = await api("/api/v1/kb/preview", { method: "POST", json: { question: $("question").value, k: 5 } });
    answer.textContent = found.answerable
      ? `The bot would answer: ${found.answer}`
      : `The bot is not sure (best confidence below ${Math.round(found.threshold * 100)}%) and would hand over or ask again.`;
    answer.className = found.answerable ? "ok" : "muted";
    $("results").replaceChildren(...found.results.map((r) => {
      const li = el("li");
      const link = el("a", r.title);
      link.href = r.url;
      link.target = "_blank";
      const where = r.heading_path.length ? ` › ${r.heading_path.join(" › ")}` : "";
      li.append(link, el("span", where, "muted"),
        el("div", `confidence ${Math.round(r.confidence * 100)}%${r.answerable ? " (clears the threshold)" : ""}`, "muted"),
        el("div", r.snippet));
      return li;
    }));
  } catch (error) { answer.textContent = error.message; answer.className = "error"; }
});

// ---- import --------------------------------------------------------------------------------------------
$("import").addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = $("files").files;
  const out = $("import-result");
  if (!files.length) { out.textContent = "Choose one or more files first."; out.className = "error"; return; }
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  form.append("status", $("import-status").value);
  try {
    const result = await api("/api/v1/kb/import", { method: "POST", body: form });
    out.textContent = `Created ${result.created.length}, updated ${result.updated.length}, unchanged ${result.unchanged.length}.`;
    out.className = "ok";
    await loadArticles();
  } catch (error) { out.textContent = `Import refused: ${error.message}`; out.className = "error"; }
});

// ---- sign-in: only admins may edit the knowledge base (staff-session.js) ---------------------------------
StaffSession.start({
  say,
  prompt: "Sign in with an admin account to edit the knowledge base.",
  onSignedIn: async () => { showEditor(null); await loadArticles(); },
});
