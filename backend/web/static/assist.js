// Agent assist in the inbox (backend/assist/): the hand-off brief, suggested replies, similar past cases,
// macros ("/" in the reply box), and the inbox basics: search, filters, unread counts, offer notifications. Uses inbox.js's api(), el(), $() and moveFocus().
// Every text goes in with textContent, never as HTML; suggested replies and the brief's quotations of the bot get
// the widget's Markdown subset (markdown.js), built from DOM nodes the same way.
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

  // What the bot answered and the facts it fetched quote the bot's own replies: the quotation is drawn as the
  // widget drew the reply (bold, links, a table). The customer's words, the sentiment and the hand-off reasons
  // stay plain text, as the customer's bubbles do.
  const QUOTES_THE_BOT = new Set(["answered", "facts"]);

  function statementParts(s) {
    const open = s.text.indexOf("“"), close = s.text.lastIndexOf("”");
    if (!QUOTES_THE_BOT.has(s.section) || open < 0 || close < open) return [s.text];
    const quote = SupportdeskMarkdown.render(unflattenTables(s.text.slice(open + 1, close)));
    quote.classList.add("quote");
    return [s.text.slice(0, open + 1), quote, s.text.slice(close)];
  }

  // The brief quotes a message on one line (backend/assist/brief.py quote()), so a table the bot sent arrives as
  // "Plans: | Plan | Monthly | |---|---| | Basic | $4.99 | …". Its rows go back on lines of their own: the rule
  // says how many cells a row has, the header is that many cells just before it, and each following run of that
  // many cells is a row (the last one may be cut short by the quotation's "…"). Anything else stays as written.
  const FLAT_RULE = /\|(?:[ \t]*:?-{3,}:?[ \t]*\|){2,}/g;

  function unflattenTables(text) {
    let out = "", at = 0;
    for (const rule of text.matchAll(FLAT_RULE)) {
      if (rule.index < at) continue;
      const columns = rule[0].split("|").length - 2;
      const before = text.slice(at, rule.index).trimEnd();
      const parts = before.split("|");
      if (!before.endsWith("|") || parts.length < columns + 2) continue;
      const prose = parts.slice(0, -(columns + 1)).join("|");
      if (prose && !/\s$/.test(prose)) continue; // "x| a | b |": not a row of its own
      const lines = [`|${parts.slice(-(columns + 1)).join("|")}`, rule[0]];
      const row = new RegExp(`^[ \\t]+(\\|(?:[^|]*\\|){${columns}})`);
      let rest = text.slice(rule.index + rule[0].length), found;
      while ((found = row.exec(rest))) { lines.push(found[1]); rest = rest.slice(found[0].length); }
      if (/^\s*\|.*…\s*$/.test(rest)) { lines.push(`${rest.trim()} |`); rest = ""; }
      out += `${prose.trim() ? prose.trimEnd() + "\n" : ""}${lines.join("\n")}\n`;
      at = text.length - rest.length;
      while (at < text.length && /\s/.test(text[at])) at++;
    }
    return out + text.slice(at);
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
        const li = el("li");
        li.append(...statementParts(s), " ");
        li.dataset.section = section;
        for (const id of (s.sources && s.sources.length ? s.sources : [s.message_id])) li.append(citeLink(id), " ");
        list.append(li);
      }
      parts.push(el("h4", title), list);
      if (section === "facts") parts.push(el("p", `(${brief.facts_source})`, "muted"));
    }
    box.replaceChildren(...(parts.length ? parts : [el("p", "Nothing to brief yet.", "muted")]));
  }

  // ---- suggested replies: one click puts one in the reply box; what was sent is compared with it ----
  const shown = { caseId: null, decisionId: null, inserted: null };

  function sourceText(s) {
    if (s.kind === "kb") return `Article: ${s.source.article}`;
    return `Agent reply · conversation ${String(s.source.conversation_id).slice(0, 8)} · ${new Date(s.source.date).toLocaleDateString()}`;
  }

  function insert(s) {
    const box = $("reply-text");
    box.value = s.text;
    box.focus();
    shown.inserted = { id: s.id, text: s.text };
  }

  function suggestionItem(s) {
    const li = el("li", undefined, `suggestion suggestion-${s.kind}`); // not "reply": that class is the reply form's
    // Shown as the customer would see it sent (the widget's Markdown subset); Insert puts the Markdown source in
    // the reply box, which is what the widget renders.
    const body = SupportdeskMarkdown.render(s.text);
    body.classList.add("text");
    li.append(body);
    const meta = el("div", `${sourceText(s)} · ${s.score.toFixed(2)} `, "muted");
    if (s.kind === "kb" && s.source.url) {
      const a = el("a", "open");
      a.href = s.source.url;
      a.target = "_blank";
      meta.append(a);
    }
    const use = el("button", "Insert");
    use.type = "button";
    use.dataset.suggestion = s.id;
    use.setAttribute("aria-label", `Insert suggestion: ${body.textContent.replace(/\s+/g, " ").trim().slice(0, 60)}`);
    use.addEventListener("click", () => insert(s));
    li.append(meta, use);
    return li;
  }

  async function suggest(detail) {
    const list = $("suggestions");
    let found;
    try { found = await api(`/api/assist/cases/${detail.id}/suggestions?k=5`); } catch (error) {
      list.replaceChildren(el("li", `Suggestions not available (${error.message})`, "muted"));
      return;
    }
    if (!state.current || state.current.id !== detail.id) return;
    Object.assign(shown, { caseId: detail.id, decisionId: found.shown_decision_id, inserted: null });
    list.replaceChildren(...(found.suggestions.length ? found.suggestions.map(suggestionItem)
      : [el("li", "No suggestion for this question.", "muted")]));
  }

  // After a reply: the suggestion list shown, the suggestion inserted (if any) and the message sent.
  async function sent(detail, message) {
    if (!message || shown.caseId !== detail.id || !shown.decisionId) return;
    const used = shown.inserted;
    const body = { shown_decision_id: shown.decisionId, message_id: message.id };
    if (used) Object.assign(body, { used: used.id, suggestion_text: used.text });
    shown.inserted = null;
    try { await api(`/api/assist/cases/${detail.id}/suggestions/outcome`, { method: "POST", json: body }); }
    catch (error) { console.warn("suggestion outcome not logged", error); }
  }

  // ---- similar past cases: this customer's first, then others', with how each ended ----
  async function similar(detail) {
    const list = $("similar");
    let found;
    try { found = await api(`/api/assist/cases/${detail.id}/similar?k=3`); } catch (error) {
      list.replaceChildren(el("li", `Not available (${error.message})`, "muted"));
      return;
    }
    list.replaceChildren(...(found.length ? found.map((c) => {
      const li = el("li");
      const who = c.same_customer ? "this customer" : "another customer";
      const when = c.resolved_at ? new Date(c.resolved_at).toLocaleDateString() : "";
      li.append(el("div", `#${c.case_id} · ${who} · ${c.skill} · ${c.disposition || "no disposition"} · ${when}`),
        el("div", c.summary, "muted"));
      return li;
    }) : [el("li", "No similar resolved case.", "muted")]));
  }

  // ---- macros: "/" in the reply box searches them; arrows move, Enter fills, Escape closes ----
  const macro = { items: [], index: -1, chosen: null, timer: null };

  function closeMenu() {
    $("macro-menu").hidden = true;
    macro.items = [];
    macro.index = -1;
    $("reply-text").removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    macro.index = index;
    const options = [...$("macro-menu").children];
    options.forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (options[index]) { $("reply-text").setAttribute("aria-activedescendant", options[index].id); options[index].scrollIntoView({ block: "nearest" }); }
  }

  async function searchMacros(words) {
    let found;
    try { found = await api(`/api/assist/macros?q=${encodeURIComponent(words)}`); } catch (error) {
      $("macro-note").textContent = `Macros not available (${error.message})`;
      return;
    }
    macro.items = found;
    const menu = $("macro-menu");
    menu.replaceChildren(...found.map((m, i) => {
      const effects = [m.add_tags.length ? `tags ${m.add_tags.join(", ")}` : "", m.set_priority !== null ? `priority ${m.set_priority}` : "",
        m.resolve_disposition ? `resolves (${m.resolve_disposition})` : ""].filter(Boolean).join(" · ");
      const li = el("li", undefined, "macro");
      li.id = `macro-${m.id}`;
      li.setAttribute("role", "option");
      li.append(el("strong", m.name), el("span", ` · ${m.team}${effects ? " · " + effects : ""}`, "muted"));
      li.addEventListener("mousedown", (event) => { event.preventDefault(); choose(i); });
      return li;
    }));
    if (!found.length) menu.append(el("li", "No macro matches.", "muted"));
    menu.hidden = false;
    highlight(found.length ? 0 : -1);
  }

  async function choose(index) {
    const picked = macro.items[index];
    closeMenu();
    if (!picked || !state.current) return;
    $("macro-note").textContent = "";
    try {
      const filled = await api(`/api/assist/cases/${state.current.id}/macros/${picked.id}/fill`, { method: "POST" });
      $("reply-text").value = filled.text;
      macro.chosen = { id: picked.id, name: picked.name, effects: filled.effects };
      shown.inserted = null; // a macro is not a suggestion
      const effects = [];
      if (filled.effects.add_tags.length) effects.push(`adds tags ${filled.effects.add_tags.join(", ")}`);
      if (filled.effects.set_priority !== null) effects.push(`sets priority ${filled.effects.set_priority}`);
      if (filled.effects.resolve) effects.push(`resolves the case (${filled.effects.resolve})`);
      $("macro-note").textContent = `Macro “${picked.name}”${effects.length ? ": sending it " + effects.join(", ") : ""}.`;
    } catch (error) {
      macro.chosen = null;
      $("macro-note").textContent = "";
      $("action-error").textContent = `Macro “${picked.name}” cannot be used here: ${error.message}`;
    }
    $("reply-text").focus();
  }

  function onInput() {
    const value = $("reply-text").value;
    if (macro.chosen && !value.trim()) { macro.chosen = null; $("macro-note").textContent = ""; }
    if (!value.startsWith("/")) { closeMenu(); return; }
    clearTimeout(macro.timer);
    macro.timer = setTimeout(() => searchMacros(value.slice(1).trim()), 150);
  }

  function onKey(event) {
    if ($("macro-menu").hidden) return;
    const count = macro.items.length;
    if (event.key === "ArrowDown" && count) { event.preventDefault(); highlight((macro.index + 1) % count); }
    else if (event.key === "ArrowUp" && count) { event.preventDefault(); highlight((macro.index - 1 + count) % count); }
    else if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); choose(macro.index); }
    else if (event.key === "Escape") { event.preventDefault(); closeMenu(); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("reply-text").addEventListener("input", onInput);
    $("reply-text").addEventListener("keydown", onKey);
    $("reply-text").addEventListener("blur", () => setTimeout(closeMenu, 100));
  });

  function takeMacro() {
    const chosen = macro.chosen;
    macro.chosen = null;
    $("macro-note").textContent = "";
    return chosen;
  }

  // ---- inbox basics: search across conversations, filters, unread counts, notifications of new offers ----
  const unreadByConversation = new Map();

  function matches(c) {
    const status = $("filter-status").value, team = $("filter-team").value, sla = $("filter-sla").value;
    const minimum = $("filter-priority").value.trim();
    if (status && c.status !== status) return false;
    if (team && c.skill !== team) return false;
    if (minimum && c.priority < Number(minimum)) return false;
    const open = c.sla_due_at && !c.first_response_at;
    if (sla === "breached" && !(open && new Date(c.sla_due_at) < Date.now())) return false;
    if (sla === "due" && !open) return false;
    return true;
  }

  function onEvent(event) {
    if (event.type === "message" && event.message.sender === "customer"
      && !(state.current && state.current.conversation_id === event.message.conversation_id)) {
      const id = event.message.conversation_id;
      unreadByConversation.set(id, (unreadByConversation.get(id) || 0) + 1);
      renderCases();
    }
    if (event.type === "case_assigned" && "Notification" in window && Notification.permission === "granted"
      && document.visibilityState !== "visible") {
      const c = event.case;
      const note = new Notification(`New case #${c.id} (${c.skill})`, { body: c.reason, tag: `case-${c.id}` });
      note.addEventListener("click", () => { window.focus(); openCase(c.id); });
    }
  }

  function markRead(caseId) {
    const c = [...state.cases, ...(state.queued || [])].find((x) => x.id === caseId);
    if (c && unreadByConversation.delete(c.conversation_id)) renderCases();
  }

  async function searchConversations(words) {
    const list = $("search-results");
    if (words.length < 2) { list.hidden = true; list.replaceChildren(); return; }
    let hits;
    try { hits = await api(`/api/assist/search?q=${encodeURIComponent(words)}`); } catch (error) {
      list.replaceChildren(el("li", `Search not available (${error.message})`, "muted"));
      list.hidden = false;
      return;
    }
    list.replaceChildren(...(hits.length ? hits.map((h) => {
      const li = el("li");
      li.tabIndex = 0;
      li.append(el("div", `#${h.case_id} · ${h.skill} · ${h.status}`), el("div", `${h.sender}: ${h.snippet}`, "meta"));
      const open = () => openCase(h.case_id);
      li.addEventListener("click", open);
      li.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); else moveFocus(e); });
      return li;
    }) : [el("li", "Nothing found.", "muted")]));
    list.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    let timer = null;
    $("search").addEventListener("submit", (event) => { event.preventDefault(); searchConversations($("search-q").value.trim()); });
    $("search-q").addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => searchConversations($("search-q").value.trim()), 250);
    });
    for (const id of ["filter-status", "filter-team", "filter-priority", "filter-sla"]) $(id).addEventListener("input", () => renderCases());
    const notify = $("notify");
    if (!("Notification" in window)) notify.hidden = true;
    else {
      const label = () => { notify.textContent = Notification.permission === "granted" ? "Notifications on" : "Notify me of new offers"; };
      label();
      notify.addEventListener("click", async () => { await Notification.requestPermission(); label(); });
    }
  });

  return {
    matches,
    onEvent,
    markRead,
    unread: (conversationId) => unreadByConversation.get(conversationId) || 0,
    takeMacro,
    async open(detail) {
      macro.chosen = null; // a macro filled for another case must not be sent here
      $("macro-note").textContent = "";
      await Promise.all([showBrief(detail), similar(detail)]);
    },
    suggest,
    sent,
  };
})();
