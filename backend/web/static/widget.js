// Supportdesk chat widget. Embed with one tag:
//   <script src="https://YOUR-HOST/static/widget.js" data-title="Support" defer></script>
// For a logged-in shopper the host site's server adds data-customer-email and data-customer-hash
// (HMAC-SHA256 of the lower-cased email with the platform's IDENTITY_SECRET), so nobody can claim another email.
// Every text from the customer, the bot or an agent is rendered with textContent, never as HTML. Bot and agent
// replies get a small Markdown subset (bold, italic, code, lists, http(s)/same-site links, small pipe tables) built
// node by node with createElement + textContent by markdown.js (loaded from the same backend; the inbox uses it
// too): markup in a message is never parsed as HTML, so "<img onerror=…>" shows as those characters.
(function () {
  "use strict";
  const script = document.currentScript;
  const origin = new URL(script.src).origin;
  const title = script.dataset.title || "Support";
  const storageKey = `supportdesk:${origin}`;
  const outboxKey = `${storageKey}:outbox`;

  const state = { session: null, socket: null, retry: 0, lastId: 0, shown: new Set(), paused: false };

  // ---- DOM -------------------------------------------------------------------------------------------
  const root = document.createElement("div");
  root.className = "sd-root";
  root.innerHTML = `
    <button class="sd-launcher" aria-expanded="false" aria-controls="sd-panel" aria-label="Open chat"></button>
    <section class="sd-panel" id="sd-panel" role="dialog" aria-label="" hidden>
      <header class="sd-header"><span class="sd-title"></span>
        <span class="sd-status" role="status" aria-live="polite"></span>
        <button class="sd-close" aria-label="Close chat">×</button></header>
      <div class="sd-waiting" hidden><p class="sd-queue" role="status" aria-live="polite"></p>
        <button class="sd-bot-instead" type="button">Let the bot help instead</button></div>
      <ol class="sd-messages" aria-live="polite" aria-relevant="additions"></ol>
      <p class="sd-typing" aria-hidden="true" hidden><span></span><span></span><span></span></p>
      <form class="sd-form"><label class="sd-sr" for="sd-input">Message</label>
        <input id="sd-input" class="sd-input" autocomplete="off" maxlength="2000" placeholder="Type your message…">
        <button class="sd-send" type="submit">Send</button></form>
    </section>`;
  const $ = (sel) => root.querySelector(sel);
  $(".sd-title").textContent = title;
  $(".sd-launcher").appendChild(chatIcon());
  $(".sd-panel").setAttribute("aria-label", title);
  const list = $(".sd-messages");
  const input = $(".sd-input");
  const statusEl = $(".sd-status");

  const style = document.createElement("link");
  style.rel = "stylesheet";
  style.href = `${origin}/static/widget.css`;

  function setOpen(open) {
    $(".sd-panel").hidden = !open;
    $(".sd-launcher").setAttribute("aria-expanded", String(open));
    if (open) { input.focus(); ensureSession().then(connect); }
  }
  $(".sd-launcher").addEventListener("click", () => setOpen($(".sd-panel").hidden));
  $(".sd-close").addEventListener("click", () => setOpen(false));
  root.addEventListener("keydown", (e) => { if (e.key === "Escape") setOpen(false); });

  // Quick replies answer the bot's latest question only. Once the customer has written (or clicked), or a
  // person or the platform speaks, earlier buttons are stale: clicked later they would answer a question no
  // longer asked, or reach the team as "/affirm" once a person owns the chat (issue 14). The bot's own
  // messages of one turn keep each other's buttons ("Talk to a person" stays under an order answer that is
  // followed by "anything else?").
  function retireQuickReplies() {
    list.querySelectorAll(".sd-quick").forEach((b) => b.remove());
  }

  function render(message) {
    if (state.shown.has(message.id)) return;
    state.shown.add(message.id);
    state.lastId = Math.max(state.lastId, message.id);
    if (message.sender !== "bot") retireQuickReplies();
    const item = document.createElement("li");
    item.className = `sd-msg sd-${message.sender}`;
    if (message.sender === "agent") {
      const who = document.createElement("span");
      who.className = "sd-author";
      who.textContent = message.author_name || "Support agent";
      const avatar = document.createElement("span");
      avatar.className = "sd-avatar";
      avatar.setAttribute("aria-hidden", "true");
      avatar.textContent = (message.author_name || "A").trim().charAt(0).toUpperCase();
      item.append(avatar, who);
    }
    // Bot and agent replies are Markdown: KB answers carry lists and tables, and an agent who sends a KB
    // suggestion (the same snippet) or types **bold** should look the same. The customer's own text is shown
    // exactly as typed, and system notices are the platform's plain sentences.
    if (message.sender === "bot" || message.sender === "agent") item.appendChild(renderMarkdown(message.text || ""));
    else {
      const text = document.createElement("p");
      text.textContent = message.text;
      item.appendChild(text);
    }
    for (const button of message.buttons || []) {
      const b = document.createElement("button");
      b.className = "sd-quick";
      b.type = "button";
      b.textContent = button.title;
      // The title is sent: it is what the customer chose, in their bubble, the inbox and the transcript. The
      // backend sends Rasa the payload of the bot's latest button with that title (conversations/service.py).
      b.addEventListener("click", () => { retireQuickReplies(); send(button.title || button.payload); });
      item.appendChild(b);
    }
    if (message.citations && message.citations.length) item.appendChild(renderCitations(message.citations));
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  // ---- launcher icon: an inline SVG speech bubble, so no emoji font is needed (an emoji drew as an empty box) --
  function chatIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "sd-icon");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "28");
    svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true"); // the button's aria-label names it
    svg.setAttribute("focusable", "false");
    const bubble = document.createElementNS(ns, "path");
    bubble.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    bubble.setAttribute("fill", "currentColor");
    svg.appendChild(bubble);
    for (const x of [8, 12, 16]) {
      const dot = document.createElementNS(ns, "circle");
      dot.setAttribute("cx", String(x));
      dot.setAttribute("cy", "10.5");
      dot.setAttribute("r", "1.4");
      dot.setAttribute("fill", "#1d3557");
      svg.appendChild(dot);
    }
    return svg;
  }

  // ---- Markdown subset for bot and agent replies: markdown.js, shared with the staff inbox -------------------
  // The host page adds one tag (widget.js); the widget loads the renderer from its own backend, beside its CSS
  // (with the tag's nonce, for a host page whose CSP asks for one). The session, and so every message, waits for
  // it; if it cannot load, replies are shown as plain text (the Markdown source), never as HTML.
  const markdownReady = new Promise((resolve) => {
    if (window.SupportdeskMarkdown) { resolve(); return; }
    const tag = document.createElement("script");
    tag.src = `${origin}/static/markdown.js`;
    if (script.nonce) tag.nonce = script.nonce;
    tag.addEventListener("load", () => resolve());
    tag.addEventListener("error", () => resolve());
    document.head.appendChild(tag);
  });

  function renderMarkdown(source) {
    if (window.SupportdeskMarkdown) return window.SupportdeskMarkdown.render(source, { base: origin });
    const box = document.createElement("div");
    box.className = "sd-md";
    const text = document.createElement("p");
    text.textContent = source;
    box.appendChild(text);
    return box;
  }

  // Knowledge articles an answer came from. Article links are relative to the backend, not the host page;
  // anything but http(s) is dropped (the backend filters too).
  function renderCitations(citations) {
    const sources = document.createElement("ul");
    sources.className = "sd-sources";
    sources.setAttribute("aria-label", "Sources");
    for (const citation of citations) {
      const url = new URL(citation.url, origin);
      if (url.protocol !== "http:" && url.protocol !== "https:") continue;
      const link = document.createElement("a");
      link.href = url.href;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = citation.title;
      const entry = document.createElement("li");
      entry.appendChild(link);
      sources.appendChild(entry);
    }
    return sources;
  }

  // ---- place in the queue while waiting for a person: pushed as `queue` frames whenever the queue moves ---
  function showQueue(place) {
    const el = $(".sd-queue");
    if (!place || !place.position) { $(".sd-waiting").hidden = true; el.textContent = ""; return; }
    retireQuickReplies(); // in the queue, a person owns the chat: the bot's questions are over
    const minutes = place.estimate_minutes;
    el.textContent = `You are number ${place.position} in the queue, about ${minutes} minute${minutes === 1 ? "" : "s"}`;
    $(".sd-waiting").hidden = false;
  }

  // The customer may stop waiting and go on with the bot; asking the bot for a person queues them again.
  async function botInstead() {
    const s = state.session;
    const response = await fetch(`${origin}/api/v1/widget/conversations/${s.conversation_id}/handback`, {
      method: "POST", headers: { authorization: `Bearer ${s.token}` },
    });
    if (response.ok) { showQueue(null); render(await response.json()); }
    else statusEl.textContent = "An agent is already on the way.";
  }
  $(".sd-bot-instead").addEventListener("click", botInstead);

  async function loadQueue() {
    const s = state.session;
    if (!s) return;
    const response = await fetch(`${origin}/api/v1/widget/conversations/${s.conversation_id}/queue`, {
      headers: { authorization: `Bearer ${s.token}` },
    });
    if (response.ok) showQueue(await response.json());
  }

  // ---- session and history ---------------------------------------------------------------------------
  async function ensureSession() {
    await markdownReady; // no message is drawn before the renderer is there
    if (state.session) return state.session;
    const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (saved) { state.session = saved; await loadHistory(); return saved; }
    const body = script.dataset.customerEmail
      ? { customer_email: script.dataset.customerEmail, customer_hash: script.dataset.customerHash }
      : {};
    const response = await fetch(`${origin}/api/v1/widget/sessions`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`session: ${response.status}`);
    state.session = await response.json();
    localStorage.setItem(storageKey, JSON.stringify(state.session));
    return state.session;
  }

  async function loadHistory() {
    const s = state.session;
    const url = `${origin}/api/v1/widget/conversations/${s.conversation_id}/messages?after_id=${state.lastId}`;
    const response = await fetch(url, { headers: { authorization: `Bearer ${s.token}` } });
    // 410: the conversation was erased, which revokes its token; a new session starts a new conversation.
    if ([401, 403, 410].includes(response.status)) { localStorage.removeItem(storageKey); state.session = null; return; }
    if (response.ok) (await response.json()).forEach(render);
  }

  // ---- outbox: messages survive a dropped connection and are sent once, in order -----------------------
  const outbox = () => JSON.parse(localStorage.getItem(outboxKey) || "[]");
  const saveOutbox = (items) => localStorage.setItem(outboxKey, JSON.stringify(items));
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).replace(/[^A-Za-z0-9-]/g, "");

  function send(text) {
    text = text.trim();
    if (!text) return;
    saveOutbox([...outbox(), { type: "message", text, client_message_id: newId() }]);
    flush();
  }

  function showTyping(on) { $(".sd-typing").hidden = !on; }

  function flush() {
    const next = outbox()[0];
    if (!next || !state.socket || state.socket.readyState !== WebSocket.OPEN || state.inFlight) return;
    state.inFlight = next.client_message_id;
    showTyping(true);
    state.socket.send(JSON.stringify({ type: "message", text: next.text, client_message_id: next.client_message_id }));
  }

  function onAck(ack) {
    saveOutbox(outbox().filter((m) => m.client_message_id !== ack.client_message_id));
    state.inFlight = null;
    showTyping(false);
    flush();
  }

  // ---- WebSocket with reconnect and exponential back-off -----------------------------------------------
  function connect() {
    if (state.paused || !state.session || (state.socket && state.socket.readyState <= WebSocket.OPEN)) return;
    const wsOrigin = origin.replace(/^http/, "ws");
    // The token goes as a subprotocol, never in the URL, which access logs record (backend/auth/sockets.py).
    const socket = new WebSocket(`${wsOrigin}/ws/widget`, ["supportdesk", `bearer.${state.session.token}`]);
    state.socket = socket;
    let opened = false;
    socket.addEventListener("open", async () => {
      opened = true;
      state.retry = 0; state.inFlight = null;
      statusEl.textContent = "";
      await loadHistory();
      await loadQueue().catch(() => {});
      flush();
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "message") render(frame.message);
      else if (frame.type === "csat_request") askRating();
      else if (frame.type === "queue") showQueue(frame);
      else if (frame.type === "ack") onAck(frame);
      else if (frame.type === "error") { statusEl.textContent = frame.detail; onAck(state.inFlight ? { client_message_id: state.inFlight } : {}); }
    });
    socket.addEventListener("close", async (event) => {
      state.socket = null; state.inFlight = null; showTyping(false);
      if (state.paused) { statusEl.textContent = "Offline: messages will be sent when you reconnect"; return; }
      if (event.code === 1008) { localStorage.removeItem(storageKey); state.session = null; return; }
      // A refused handshake (bad or revoked token) reaches a browser as 1006, not as the server's 1008: a
      // socket that never opened asks the REST API, whose 401/403/410 drops the session, instead of retrying.
      if (!opened) { await loadHistory().catch(() => {}); if (!state.session) return; }
      statusEl.textContent = "Reconnecting…";
      const delay = Math.min(30000, 500 * 2 ** state.retry++) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    });
  }

  // ---- survey after a human resolved the conversation: the 1-5 score, then up to two configured questions ---
  async function askRating() {
    const s = state.session;
    const response = await fetch(`${origin}/api/v1/widget/conversations/${s.conversation_id}/csat`, {
      headers: { authorization: `Bearer ${s.token}` },
    }).catch(() => null);
    // The score alone if the questions cannot be read: it is the one analytics and automation need.
    const questions = response && response.ok ? await response.json() : [{ id: "satisfaction", kind: "rating", text: "" }];
    const item = document.createElement("li");
    item.className = "sd-msg sd-rating";
    const answers = {};
    // One question: a star sends at once, as ever. More: stars choose, and Send posts them all.
    const single = questions.length === 1;
    for (const question of questions) item.appendChild(renderQuestion(question, answers, single, item));
    if (!single) {
      const submit = document.createElement("button");
      submit.type = "button";
      submit.className = "sd-survey-send";
      submit.textContent = "Send answers";
      submit.disabled = true;
      submit.addEventListener("click", () => { submit.disabled = true; rate(answers, item); });
      item.appendChild(submit);
      item.addEventListener("sd-answer", () => { submit.disabled = !answers.satisfaction; });
    }
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  function renderQuestion(question, answers, single, item) {
    const wrap = document.createElement("div");
    wrap.className = "sd-question";
    // The score's question is the system message just above; the others need their words.
    if (question.text && !single && question.id !== "satisfaction") {
      const label = document.createElement("p");
      label.textContent = question.text;
      wrap.appendChild(label);
    }
    if (question.kind === "text") {
      const field = document.createElement("textarea");
      field.className = "sd-answer";
      field.maxLength = 500;
      field.rows = 2;
      field.setAttribute("aria-label", question.text);
      field.addEventListener("input", () => { answers[question.id] = field.value; });
      wrap.appendChild(field);
      return wrap;
    }
    const group = document.createElement("div");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", question.id === "satisfaction" ? "Rate this conversation from 1 to 5 stars" : question.text);
    for (let score = 1; score <= 5; score++) {
      const star = document.createElement("button");
      star.type = "button";
      star.className = "sd-star";
      star.textContent = "★";
      star.setAttribute("aria-label", `${score} star${score > 1 ? "s" : ""}`);
      if (!single) star.setAttribute("aria-pressed", "false");
      star.addEventListener("click", () => {
        answers[question.id] = score;
        if (single) { rate(answers, item); return; }
        group.querySelectorAll(".sd-star").forEach((b, i) => b.setAttribute("aria-pressed", String(i < score)));
        item.dispatchEvent(new Event("sd-answer"));
      });
      group.appendChild(star);
    }
    wrap.appendChild(group);
    return wrap;
  }

  async function rate(answers, item) {
    const s = state.session;
    const { satisfaction: score, ...others } = answers;
    // A text question left empty is not an answer.
    for (const [id, value] of Object.entries(others)) if (typeof value === "string" && !value.trim()) delete others[id];
    const response = await fetch(`${origin}/api/v1/widget/conversations/${s.conversation_id}/csat`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${s.token}` },
      body: JSON.stringify({ score, answers: others }),
    });
    const thanks = document.createElement("p");
    thanks.textContent = response.ok ? `Thank you for rating us ${score} out of 5.` : "Sorry, we couldn't save your rating.";
    item.replaceChildren(thanks);
  }

  $(".sd-form").addEventListener("submit", (e) => {
    e.preventDefault();
    send(input.value);
    input.value = "";
  });

  document.head.appendChild(style);
  document.body.appendChild(root);
  if (localStorage.getItem(storageKey)) ensureSession().then(connect);
  // The host page may pause the chat (messages typed meanwhile wait in the outbox) and resume it.
  function disconnect() { state.paused = true; if (state.socket) state.socket.close(); }
  function reconnect() { state.paused = false; state.retry = 0; ensureSession().then(connect); }
  window.addEventListener("online", () => { if (!state.paused) connect(); });
  window.SupportdeskWidget = { open: () => setOpen(true), close: () => setOpen(false), disconnect, reconnect };
})();
