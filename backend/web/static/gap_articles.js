// Dashboard: the articles made from knowledge-gap clusters (backend/assist/gaps.py) and how many customer
// questions the bot has answered with each since it was published (GET /api/assist/gaps/articles).
// Every text goes in with textContent, never as HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

  function row(a) {
    const tr = document.createElement("tr");
    tr.dataset.slug = a.slug;
    const title = document.createElement("td");
    const link = document.createElement("a");
    link.href = `/kb/${encodeURIComponent(a.slug)}`;
    link.textContent = a.title;
    title.append(link);
    const published = a.published_at ? when(a.published_at) : "draft, not published";
    const answered = cell(a.published_at ? String(a.answered) : "—");
    answered.className = "answered";
    tr.append(title, cell(`${a.cluster_size} questions`), cell(published), answered,
      cell(a.published_at ? String(a.conversations) : "—"), cell(when(a.last_answered_at)));
    return tr;
  }

  async function load() {
    const note = $("gap-articles-note");
    let articles;
    try { articles = await StaffSession.api("/api/assist/gaps/articles"); } catch (error) {
      if (error.message !== "signed out") { note.textContent = `Not available: ${error.message}`; note.className = "error"; }
      return;
    }
    $("gap-articles-rows").replaceChildren(...articles.map(row));
    note.className = "muted";
    note.textContent = articles.length ? "" : "No article has been made from a knowledge gap yet.";
  }

  // Loads when the dashboard's workspace is shown (signed in), and again after each sign-in.
  new MutationObserver(() => { if (!$("workspace").hidden) load(); })
    .observe($("workspace"), { attributes: true, attributeFilter: ["hidden"] });
  if (!$("workspace").hidden) load();
})();
