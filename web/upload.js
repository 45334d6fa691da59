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
let dropped = []; // files dropped on the drop zone, until the next upload
const batchRows = new Map(); // generated id -> status element of this upload's rows

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
    for (const doc of catalog.documents) {
      const state = batchRows.get(doc.id);
      if (state) setRowState(state, doc.status, doc.error);
    }
    if (catalog.documents.some((d) => BUSY.has(d.status))) timer = setTimeout(refresh, POLL_MS);
  } catch (error) {
    say("error.generic", { message: error.message }, true);
    timer = setTimeout(refresh, POLL_MS * 4);
  }
}

function chosenFiles() {
  return [...$("file").files, ...$("folder").files, ...dropped];
}

function showChosen() {
  const n = chosenFiles().length;
  $("chosen").replaceChildren(n ? label("span", "upload.chosen", { n }) : "");
}

function setRowState(node, status, error) {
  node.replaceChildren(label("span", `status.${status}`, undefined,
    { class: `state state-${status}`, dataset: { status } }), error ? ` — ${error}` : "");
}

/** Several files (or a zip, or a folder): one request, one status row each, one build. */
async function uploadBatch(files) {
  const data = new FormData();
  for (const file of files) data.append("file", file, file.webkitRelativePath || file.name);
  const result = await api("/api/documents/batch", { method: "POST", headers: authHeaders(), body: data });
  batchRows.clear();
  $("batch-rows").replaceChildren(...result.files.map((item) => {
    const state = el("span", { class: "batch-state" });
    setRowState(state, item.status, item.error);
    if (item.id) batchRows.set(item.id, state);
    return el("li", { dataset: { name: item.name } }, el("span", { class: "batch-name" }, item.name), " ", state);
  }));
  $("batch").hidden = false;
  say("upload.batchSent", { queued: result.queued, failed: result.failed });
}

async function upload(event) {
  event.preventDefault();
  if (!keyInput.value.trim()) {
    say("upload.needKey", undefined, true);
    keyInput.focus();
    return;
  }
  const files = chosenFiles();
  if (files.length > 1 || (files.length === 1 && /\.zip$/i.test(files[0].name))) {
    $("upload").disabled = true;
    say("upload.sending");
    try {
      await uploadBatch(files);
      dropped = [];
      form.reset();
      keyInput.value = sessionStorage.getItem(KEY_STORAGE) || "";
      showChosen();
    } catch (error) {
      say("error.generic", { message: error.message }, true);
    } finally {
      $("upload").disabled = false;
    }
    refresh();
    return;
  }
  const file = files[0];
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
    dropped = [];
    form.reset();
    showChosen();
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
/** Every file under a dropped folder (entries API), or the dropped files themselves. */
async function droppedFiles(transfer) {
  const entries = [...(transfer.items || [])].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry())
    .filter(Boolean);
  if (!entries.length) return [...transfer.files];
  const files = [];
  async function walk(entry) {
    if (entry.isFile) {
      files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
  }
  for (const entry of entries) await walk(entry);
  return files;
}

const drop = $("drop");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", async (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  dropped = [...dropped, ...(await droppedFiles(event.dataTransfer))];
  showChosen();
});
$("file").addEventListener("change", showChosen);
$("folder").addEventListener("change", showChosen);
form.addEventListener("submit", upload);
initLanguage();
refresh();
