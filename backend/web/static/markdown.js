// The Markdown subset of bot and agent messages, shared by the chat widget (widget.js loads this file from its own
// backend) and the staff inbox (inbox.html), so an agent sees a knowledge passage or a reply as the customer does.
//   SupportdeskMarkdown.render(source, { base }) -> <div class="sd-md">…</div>
// base: the origin site-relative links ("/kb/articles/plans") resolve against; the widget passes its backend's
// origin (not the page that embeds it), the default is this page's origin.
// Bold, italic, code, bullet and numbered lists, http(s) and site-relative links (new tab, rel="noopener
// noreferrer"), small pipe tables. Written here rather than vendored: no Markdown library is in static/vendor, and
// the subset is small. Markup in a message is never parsed as HTML: every piece of message text ends up in a text
// node, only the element names below are ever created, so "<img onerror=…>" shows as those characters and a
// javascript: link stays text.
(function () {
  "use strict";
  if (window.SupportdeskMarkdown) return; // loaded twice (a page with the inbox and the widget): keep one

  const TABLE_RULE = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;
  const TABLE_ROW = /^\s*\|.*\|\s*$/;
  const BULLET = /^\s*[-*+]\s+(.*)$/;
  const NUMBERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
  const MAX_TABLE_ROWS = 12; // a bigger table would not fit a 360px bubble: it stays text
  const MAX_TABLE_COLUMNS = 6;
  // Tried in this order at each position: escape, code, bold, italic, link.
  const INLINE = /\\([\\`*_[\]()|#+\-.!])|`([^`\n]+)`|\*\*(?=\S)([^\n]+?)(?<=\S)\*\*|\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?!\*)|\[([^[\]\n]+)\]\(\s*([^()\s]*(?:\([^()\s]*\)[^()\s]*)*)\s*\)/g;

  function cells(line) {
    return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
  }

  function render(source, options) {
    const base = (options && options.base) || window.location.origin;
    const box = document.createElement("div");
    box.className = "sd-md";
    const lines = String(source).replace(/\r\n?/g, "\n").split("\n");
    let i = 0;
    let para = null;
    const endPara = () => { para = null; };
    while (i < lines.length) {
      const line = lines[i];
      if (!line.trim()) { endPara(); i++; continue; }
      if (TABLE_ROW.test(line) && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1])) {
        let end = i + 2;
        while (end < lines.length && TABLE_ROW.test(lines[end])) end++;
        const head = cells(line);
        const body = lines.slice(i + 2, end).map(cells);
        if (body.length <= MAX_TABLE_ROWS && head.length <= MAX_TABLE_COLUMNS && head.length > 1) {
          endPara();
          box.appendChild(renderTable(head, body, base));
          i = end;
          continue;
        }
      }
      const bullet = BULLET.exec(line);
      const numbered = !bullet && NUMBERED.exec(line);
      if (bullet || numbered) {
        endPara();
        const kind = bullet ? BULLET : NUMBERED;
        const listEl = document.createElement(bullet ? "ul" : "ol");
        if (numbered && numbered[1] !== "1") listEl.start = Number(numbered[1]);
        let match;
        while (i < lines.length && (match = kind.exec(lines[i]))) {
          const li = document.createElement("li");
          appendInline(li, bullet ? match[1] : match[2], 0, base);
          listEl.appendChild(li);
          i++;
        }
        box.appendChild(listEl);
        continue;
      }
      // Lines of one paragraph keep their breaks (the bubble is white-space: pre-wrap, as plain bubbles are).
      if (para) para.appendChild(document.createTextNode("\n"));
      else { para = document.createElement("p"); box.appendChild(para); }
      appendInline(para, line, 0, base);
      i++;
    }
    if (!box.firstChild) box.appendChild(document.createElement("p")); // an empty reply keeps its bubble
    return box;
  }

  function renderTable(head, body, base) {
    const wrap = document.createElement("div");
    wrap.className = "sd-table";
    const table = document.createElement("table");
    const thead = table.createTHead().insertRow();
    for (const text of head) {
      const th = document.createElement("th");
      th.scope = "col";
      appendInline(th, text, 0, base);
      thead.appendChild(th);
    }
    const tbody = table.createTBody();
    for (const row of body) {
      const tr = tbody.insertRow();
      // A row with fewer cells is padded, one with more is cut, as GitHub's tables do.
      for (let c = 0; c < head.length; c++) appendInline(tr.insertCell(), row[c] || "", 0, base);
    }
    wrap.appendChild(table);
    return wrap;
  }

  // Links go to http(s) URLs or to paths on `base`; "//host" (another site), javascript:, data: and anything else
  // are not links, and the bracketed source stays visible as text.
  function safeHref(raw, base) {
    if (/^https?:\/\//i.test(raw)) {
      try { return new URL(raw).href; } catch { return null; }
    }
    if (/^\/(?![\/\\])/.test(raw)) return new URL(raw, base).href;
    return null;
  }

  function appendInline(parent, text, depth, base) {
    INLINE.lastIndex = 0;
    const matches = [...text.matchAll(INLINE)];
    let at = 0;
    for (const m of matches) {
      if (m.index > at) parent.appendChild(document.createTextNode(text.slice(at, m.index)));
      at = m.index + m[0].length;
      const [whole, escaped, code, bold, italic, label, url] = m;
      let el = null;
      if (escaped !== undefined) { parent.appendChild(document.createTextNode(escaped)); continue; }
      if (code !== undefined) { el = document.createElement("code"); el.textContent = code; }
      else if (bold !== undefined || italic !== undefined) {
        el = document.createElement(bold !== undefined ? "strong" : "em");
        // Nesting is bounded: "**a *b* c**" is fine, a pathological run of markers stays text.
        if (depth < 3) appendInline(el, bold !== undefined ? bold : italic, depth + 1, base);
        else el.textContent = bold !== undefined ? bold : italic;
      } else {
        const href = safeHref(url, base);
        if (!href) { parent.appendChild(document.createTextNode(whole)); continue; }
        el = document.createElement("a");
        el.href = href;
        el.target = "_blank";
        el.rel = "noopener noreferrer";
        if (depth < 3) appendInline(el, label, depth + 1, base);
        else el.textContent = label;
      }
      parent.appendChild(el);
    }
    if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
  }

  window.SupportdeskMarkdown = Object.freeze({ render });
})();
