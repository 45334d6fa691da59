// The upload page: send a document with the API key, then follow its indexing state (and any
// per-page problems) by polling the catalog. The key stays in sessionStorage (this tab only).

import { initLanguage, t } from "./i18n.js";
import { api, el, label } from "./common.js";

const KEY_STORAGE = "assistant.apiKey";
const BUSY = new Set(["queued", "indexing", "removing"]);
const POLL_MS = 1500;
const FIELDS = ["title", "publisher", "year", "type", "region", "language"];

const $ = (id) => document.getElementById(id);
const form = $("upload-form");
const keyInput = $("key");
const status = $("status");
const body = $("catalog-body");
let timer = null;

function say(key, vars, isError = false) {
  status.classList.toggle("error", isError);
  status.replaceChildren(label("span", key, vars));
}

function authHeaders() {
  return { Authorization: `Bearer ${keyInput.value.trim()}` };
}

function row(doc) {
  const problems = el("ul", { class: "problems" },
    doc.problems.map((p) => el("li", {}, p)), doc.error ? el("li", {}, doc.error) : null);
  const remove = label("button", "upload.remove", undefined, { type: "button", class: "secondary" });
  remove.dataset.i18nLabel = "upload.removeLabel";
  remove.dataset.i18nArgs = JSON.stringify({ title: doc.title });
  remove.setAttribute("aria-label", t("upload.removeLabel", { title: doc.title }));
  remove.disabled = doc.status === "removing";
  remove.addEventListener("click", () => removeDocument(doc));
  return el("tr", { dataset: { doc: doc.id } },
    el("th", { scope: "row" }, doc.title, el("br"), el("code", {}, doc.id)),
    el("td", {}, label("span", `status.${doc.status}`, undefined,
      { class: `state state-${doc.status}`, dataset: { status: doc.status } })),
    el("td", {}, doc.pages ?? "—"),
    el("td", {}, String(doc.chunks)),
    el("td", {}, doc.problems.length || doc.error ? problems : "—"),
    el("td", {}, remove));
}

async function refresh() {
  clearTimeout(timer);
  try {
    const catalog = await api("/api/documents");
    body.replaceChildren(...catalog.documents.map(row));
    if (catalog.documents.some((d) => BUSY.has(d.status))) timer = setTimeout(refresh, POLL_MS);
  } catch (error) {
    say("error.generic", { message: error.message }, true);
    timer = setTimeout(refresh, POLL_MS * 4);
  }
}

async function upload(event) {
  event.preventDefault();
  if (!keyInput.value.trim()) {
    say("upload.needKey", undefined, true);
    keyInput.focus();
    return;
  }
  const file = $("file").files[0];
  if (!file) {
    say("upload.needFile", undefined, true);
    $("file").focus();
    return;
  }
  const data = new FormData();
  data.append("file", file, file.name);
  for (const name of FIELDS) {
    const value = form.elements[name].value.trim();
    if (value) data.append(name, value);
  }
  $("upload").disabled = true;
  say("upload.sending");
  try {
    await api("/api/documents", { method: "POST", headers: authHeaders(), body: data });
    say("upload.sent", { name: file.name });
    form.reset();
    keyInput.value = sessionStorage.getItem(KEY_STORAGE) || "";
  } catch (error) {
    say("error.generic", { message: error.message }, true);
  } finally {
    $("upload").disabled = false;
  }
  refresh();
}

async function removeDocument(doc) {
  if (!keyInput.value.trim()) {
    say("upload.needKey", undefined, true);
    keyInput.focus();
    return;
  }
  if (!window.confirm(t("upload.confirmRemove", { title: doc.title }))) return;
  try {
    await api(`/api/documents/${doc.id.split("/").map(encodeURIComponent).join("/")}`,
      { method: "DELETE", headers: authHeaders() });
    say("upload.removed", { title: doc.title });
  } catch (error) {
    say("error.generic", { message: error.message }, true);
  }
  refresh();
}

keyInput.value = sessionStorage.getItem(KEY_STORAGE) || "";
keyInput.addEventListener("input", () => sessionStorage.setItem(KEY_STORAGE, keyInput.value.trim()));
$("forget").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  keyInput.value = "";
  keyInput.focus();
});
form.addEventListener("submit", upload);
initLanguage();
refresh();
