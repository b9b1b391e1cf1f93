// Staff sign-in and API calls shared by the admin pages. The token lives in sessionStorage under the same
// key as the agent inbox's, so one sign-in serves every staff page of this origin.
// A page has <form id="signin" hidden></form>, <div id="workspace" hidden> and a status line, and calls
// StaffSession.start({ say, onSignedIn, prompt }).
"use strict";
window.StaffSession = (() => {
  const KEY = "sd-staff-token";
  let page = { say: () => {}, onSignedIn: () => {}, prompt: "Sign in with an admin account." };

  function show(signedIn) {
    document.getElementById("workspace").hidden = !signedIn;
    document.getElementById("signin").hidden = signedIn;
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    show(false);
    page.say(message || page.prompt);
  }

  // FastAPI's error detail in one line: a message, or "field: problem; ..." for validation errors.
  function detailText(body, fallback) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((d) => (typeof d === "string" ? d : `${(d.loc || []).join(".")}: ${d.msg}`)).join("; ");
    return fallback;
  }

  async function api(path, options = {}) {
    const headers = { ...(options.headers || {}), authorization: `Bearer ${sessionStorage.getItem(KEY)}` };
    const request = { ...options, headers };
    if (options.json !== undefined) { headers["content-type"] = "application/json"; request.body = JSON.stringify(options.json); }
    const response = await fetch(path, request);
    const body = response.status === 204 ? null : await response.json().catch(() => null);
    if (response.status === 401) { signOut("Please sign in again."); throw new Error("signed out"); }
    if (!response.ok) throw new Error(detailText(body, response.statusText));
    return body;
  }

  function buildForm(form) {
    const field = (id, label, type, name, autocomplete) => {
      const l = document.createElement("label");
      l.htmlFor = id;
      l.textContent = label;
      const input = document.createElement("input");
      Object.assign(input, { id, type, name, autocomplete, required: true });
      return [l, input];
    };
    const heading = document.createElement("h2");
    heading.textContent = "Sign in as an admin";
    const submit = document.createElement("button");
    submit.type = "submit";
    submit.textContent = "Sign in";
    form.replaceChildren(heading, ...field("email", "Email", "email", "username", "username"),
      ...field("password", "Password", "password", "password", "current-password"), submit);
  }

  function start(options) {
    page = { ...page, ...options };
    const form = document.getElementById("signin");
    buildForm(form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const response = await fetch("/api/v1/auth/token", { method: "POST", body: new URLSearchParams(new FormData(form)) });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) { page.say(detailText(body, "Sign-in failed."), "error"); return; }
      sessionStorage.setItem(KEY, body.access_token);
      signedIn();
    });
    if (sessionStorage.getItem(KEY)) signedIn(); else signOut();
  }

  async function signedIn() {
    show(true);
    page.say("");
    try { await page.onSignedIn(); } catch (error) { if (error.message !== "signed out") page.say(error.message, "error"); }
  }

  return { start, api, signOut };
})();
