// What the inbox and the review page both say about a logged automated decision: the API's paths, the names of
// kinds and labels, and the evidence as (name, value) pairs. Values are plain strings for textContent only.
"use strict";
window.Decisions = (() => {
  const KINDS = {
    handoff: "Hand-off",
    kb_answer: "Knowledge answer",
    routing: "Routing",
    priority: "Priority",
    retention_offer: "Retention offer",
    override: "Override",
    automation: "Automation rule",
  };
  // A hand-off is judged needed or not; every other decision right or wrong.
  const HANDOFF_LABELS = [["needed", "Hand-off needed"], ["not_needed", "Not needed"]];
  const VERDICT_LABELS = [["right", "Right"], ["wrong", "Wrong"]];
  const LABEL_NAMES = Object.fromEntries([...HANDOFF_LABELS, ...VERDICT_LABELS]);

  const labelsFor = (kind) => (kind === "handoff" ? HANDOFF_LABELS : VERDICT_LABELS);
  const kindName = (kind) => KINDS[kind] || kind;
  const labelName = (label) => LABEL_NAMES[label] || label;

  function value(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(3);
    if (typeof v === "string") return v;
    return JSON.stringify(v);
  }

  // A mapping as "name value · name value"; a list as "a; b".
  function pairsText(mapping) {
    if (Array.isArray(mapping)) return mapping.length ? mapping.map(value).join("; ") : "—";
    if (!mapping || typeof mapping !== "object") return value(mapping);
    const entries = Object.entries(mapping);
    return entries.length ? entries.map(([k, v]) => `${k} ${value(v)}`).join(" · ") : "—";
  }

  // Scores are a mapping of name to number (or one number); a single line reads best beside the threshold.
  const scoresText = (scores) => (scores === null || scores === undefined ? "—" : pairsText(scores));

  // The headline score: the one named like the decision, else the first number.
  function mainScore(decision) {
    if (typeof decision.score === "number") return decision.score;
    const scores = decision.scores;
    if (typeof scores === "number") return scores;
    if (!scores || typeof scores !== "object") return null;
    for (const name of ["score", decision.kind, "escalation", "risk", "probability", "confidence"]) {
      if (typeof scores[name] === "number") return scores[name];
    }
    const first = Object.values(scores).find((v) => typeof v === "number");
    return first === undefined ? null : first;
  }

  function scoreVsThreshold(decision) {
    const score = mainScore(decision);
    const noThreshold = decision.threshold === null || decision.threshold === undefined;
    if (score === null && noThreshold) return "no score: decided by rules";
    if (score === null) return `no score (threshold ${value(decision.threshold)})`;
    if (noThreshold) return `score ${value(score)}, no threshold`;
    const side = score >= decision.threshold ? "at or over" : "under";
    return `score ${value(score)} ${side} threshold ${value(decision.threshold)}`;
  }

  function versionText(decision) {
    const version = decision.version || "unversioned";
    if (!decision.fallback) return version;
    return typeof decision.fallback === "string" ? `${version} (the rules decided: ${decision.fallback})` : `${version} (the rules decided)`;
  }

  function feedbackText(decision) {
    if (!decision.feedback_label) return "Not labelled yet.";
    const by = decision.feedback_by ? ` by ${decision.feedback_by}` : "";
    const at = decision.feedback_at ? ` on ${new Date(decision.feedback_at).toLocaleString()}` : "";
    const note = decision.feedback_note ? ` · note: ${decision.feedback_note}` : "";
    return `Labelled "${labelName(decision.feedback_label)}"${by}${at}${note}`;
  }

  // The evidence of one decision as rows for a definition list.
  function evidence(decision) {
    const rows = [
      ["Decision", `${kindName(decision.kind)} #${decision.id}`],
      ["Action", value(decision.action)],
      ["Scores", scoresText(decision.scores)],
      ["Threshold", value(decision.threshold)],
      ["Model or rule", versionText(decision)],
      ["When", new Date(decision.created_at).toLocaleString()],
    ];
    if (decision.inputs && typeof decision.inputs === "object") {
      // A nested mapping (a policy's features) reads as "name value" pairs rather than as JSON.
      for (const [k, v] of Object.entries(decision.inputs)) {
        const nested = v !== null && typeof v === "object" && !Array.isArray(v);
        rows.push([`Input: ${k}`, nested ? pairsText(v) : value(v)]);
      }
    }
    if (Array.isArray(decision.reasons) && decision.reasons.length) rows.splice(2, 0, ["Why", pairsText(decision.reasons)]);
    if (typeof decision.latency_ms === "number") rows.push(["Latency", `${decision.latency_ms.toFixed(1)} ms`]);
    rows.push(["Outcome", decision.outcome ? pairsText(decision.outcome) : "not known yet"]);
    return rows;
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  // One-click label buttons with an optional note and a status line that says what was stored.
  // send(label, note) posts the label and resolves to the updated decision (or nothing); onDone runs after.
  function labelControls(decision, send, { onDone = () => {}, question = "" } = {}) {
    const group = el("div", undefined, "decision-label");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", question || `Label ${kindName(decision.kind).toLowerCase()} decision #${decision.id}`);
    const note = el("input");
    Object.assign(note, { type: "text", maxLength: 1000, id: `note-${decision.id}`, placeholder: "why (optional)" });
    const noteLabel = el("label", "Note (optional)");
    noteLabel.htmlFor = note.id;
    const result = el("span", feedbackText(decision), decision.feedback_label ? "ok" : "muted");
    result.setAttribute("role", "status");
    result.setAttribute("aria-live", "polite");
    const buttons = labelsFor(decision.kind).map(([label, name]) => {
      const button = el("button", name);
      button.type = "button";
      button.dataset.label = label;
      button.setAttribute("aria-pressed", String(decision.feedback_label === label));
      button.addEventListener("click", async () => {
        for (const b of buttons) b.disabled = true;
        result.textContent = "Saving…";
        result.className = "muted";
        try {
          const text = note.value.trim() || null;
          const stored = await send(label, text);
          Object.assign(decision, stored && stored.id === decision.id ? stored
            : { feedback_label: label, feedback_note: text, feedback_at: new Date().toISOString() });
          for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.label === decision.feedback_label));
          result.textContent = feedbackText(decision);
          result.className = "ok";
          onDone(decision);
        } catch (error) {
          result.textContent = `Not saved: ${error.message}`;
          result.className = "error";
        } finally { for (const b of buttons) b.disabled = false; }
      });
      return button;
    });
    group.append(...buttons, noteLabel, note, result);
    return group;
  }

  return { API: "/api", el, labelControls, kindName, labelName, labelsFor, scoresText, scoreVsThreshold, versionText, feedbackText, evidence, value };
})();
