// Admin page: knowledge gaps (backend/assist/gaps.py). Each cluster of unanswered questions with its size,
// examples and the agent replies that resolved them; one click makes a draft article from it, a second
// publishes it through the knowledge-base route. Every text goes in with textContent, never as HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, className) => {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  };
  const say = (text, className = "muted") => { $("gaps-status").textContent = text; $("gaps-status").className = className; };
  const reloadArticles = () => $("filter").dispatchEvent(new Event("change"));

  function button(text, onClick) {
    const b = el("button", text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  async function publish(slug, li) {
    try { await StaffSession.api(`/api/v1/kb/articles/${encodeURIComponent(slug)}/publish`, { method: "POST" }); }
    catch (error) { say(`Not published: ${error.message}`, "error"); return; }
    li.append(el("p", `Published: the bot can answer with /kb/${slug} now.`, "ok"));
    reloadArticles();
  }

  async function draft(cluster, li) {
    let made;
    try { made = await StaffSession.api(`/api/assist/gaps/${cluster.id}/draft`, { method: "POST" }); }
    catch (error) { say(`No draft: ${error.message}`, "error"); return; }
    li.append(el("p", `Draft “${made.title}” saved (${made.slug}); review it in the editor above (Show: drafts).`, "ok"),
      button("Publish it", () => publish(made.slug, li)));
    reloadArticles();
  }

  function clusterItem(cluster) {
    const li = el("li");
    li.append(el("strong", `${cluster.size} questions like “${cluster.label}”`));
    const asked = el("ul");
    for (const e of cluster.examples.slice(0, 5)) asked.append(el("li", `${e.text} (${e.why.replace("_", " ")})`));
    li.append(asked);
    const replies = el("ul");
    for (const r of cluster.replies) replies.append(el("li", `Agent: ${r.text}`, "muted"));
    if (!cluster.replies.length) replies.append(el("li", "No agent reply resolved these yet.", "muted"));
    li.append(replies);
    if (cluster.article_slug) {
      const since = cluster.answered_since ?? 0;
      li.append(el("p", `Article: ${cluster.article_slug} · the bot answered ${since} question${since === 1 ? "" : "s"} with it since it was published`, "muted"));
    }
    else li.append(button("Make a draft article", () => draft(cluster, li)));
    return li;
  }

  async function load() {
    let clusters;
    try { clusters = await StaffSession.api("/api/assist/gaps"); } catch (error) { say(error.message, "error"); return; }
    $("gaps").replaceChildren(...clusters.map(clusterItem));
    say(clusters.length ? `Latest run: ${new Date(clusters[0].run_at).toLocaleString()}` : "No clusters yet: run it now.");
  }

  $("gaps-run").addEventListener("click", async () => {
    say("Clustering…");
    try { await StaffSession.api("/api/assist/gaps/run", { method: "POST" }); } catch (error) { say(error.message, "error"); return; }
    await load();
  });
  // The section loads when the admin's workspace is shown (signed in), and again after each sign-in.
  new MutationObserver(() => { if (!$("workspace").hidden) load(); })
    .observe($("workspace"), { attributes: true, attributeFilter: ["hidden"] });
  if (!$("workspace").hidden) load();
})();
