// Agent assist in the inbox (backend/assist/): the hand-off brief. Uses inbox.js's api(), el() and $().
// Every text goes in with textContent, never as HTML.
"use strict";
const Assist = (() => {
  const SECTIONS = [["wants", "What the customer wants"], ["answered", "What the bot answered"],
    ["facts", "Facts the bot fetched"], ["sentiment", "Sentiment"], ["handover", "Why it was handed over"]];

  // A statement links to the message it was taken from: a click scrolls the transcript there and marks it.
  function citeLink(messageId) {
    const a = el("a", `#${messageId}`);
    a.href = `#msg-${messageId}`;
    a.className = "cite";
    a.addEventListener("click", (event) => {
      event.preventDefault();
      const target = document.getElementById(`msg-${messageId}`);
      if (!target) return;
      for (const old of document.querySelectorAll(".transcript li.cited")) old.classList.remove("cited");
      target.classList.add("cited");
      target.scrollIntoView({ block: "center" });
    });
    return a;
  }

  async function showBrief(detail) {
    const box = $("brief-body");
    $("brief").hidden = false;
    box.replaceChildren(el("p", "Reading the conversation…", "muted"));
    let brief;
    try { brief = await api(`/api/assist/cases/${detail.id}/brief`); } catch (error) {
      box.replaceChildren(el("p", `Brief not available (${error.message})`, "muted"));
      return;
    }
    const parts = [];
    for (const [section, title] of SECTIONS) {
      const items = brief.statements.filter((s) => s.section === section);
      if (!items.length) continue;
      const list = el("ul");
      for (const s of items) {
        const li = el("li", `${s.text} `);
        li.append(citeLink(s.message_id));
        list.append(li);
      }
      parts.push(el("h4", title), list);
      if (section === "facts") parts.push(el("p", `(${brief.facts_source})`, "muted"));
    }
    box.replaceChildren(...(parts.length ? parts : [el("p", "Nothing to brief yet.", "muted")]));
  }

  return {
    async open(detail) { await showBrief(detail); },
  };
})();
