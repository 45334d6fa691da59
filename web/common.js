// Small DOM and API helpers shared by the pages. Document text only ever becomes text nodes.

import { t } from "./i18n.js";

/** An element with attributes (strings only) and children (nodes or strings → text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, ...children);
  return node;
}

/** Append nodes and strings (as text nodes), skipping null. */
export function append(parent, ...children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** An element whose text is an interface string, re-translated when the language changes. */
export function label(tag, key, vars = undefined, attrs = {}) {
  const node = el(tag, attrs, t(key, vars || {}));
  node.dataset.i18n = key;
  if (vars) node.dataset.i18nArgs = JSON.stringify(vars);
  return node;
}

/** An API error with the server's message. */
export class ApiError extends Error {
  constructor(status, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** Fetch JSON from the API; a non-2xx answer throws ApiError with the server's message. */
export async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { credentials: "same-origin", ...options });
  } catch (e) {
    throw new ApiError(0, t("error.network"));
  }
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  if (!response.ok) {
    const message = (body && body.error && body.error.message) || response.statusText;
    throw new ApiError(response.status, message, response.headers.get("Retry-After"));
  }
  return body;
}

/** Where a document's original file opens, at a page when there is one. */
export function fileUrl(doc, page) {
  const base = `/api/documents/${doc.split("/").map(encodeURIComponent).join("/")}/file`;
  return page ? `${base}#page=${page}` : base;
}

/** [start, end) of `quote` in `text`: exact first, then ignoring whitespace differences. */
export function findQuote(text, quote) {
  if (!quote) return null;
  const exact = text.indexOf(quote);
  if (exact >= 0) return [exact, exact + quote.length];
  // Collapse whitespace in the text, remembering where each kept character came from.
  const positions = [];
  let squeezed = "";
  for (let i = 0; i < text.length; i++) {
    if (/\s/.test(text[i])) continue;
    positions.push(i);
    squeezed += text[i];
  }
  const needle = quote.replace(/\s+/g, "");
  if (!needle) return null;
  let at = squeezed.indexOf(needle);
  if (at < 0) at = squeezed.toLowerCase().indexOf(needle.toLowerCase());
  if (at < 0) return null;
  return [positions[at], positions[at + needle.length - 1] + 1];
}

/** Text with the given [start, end) ranges wrapped in <mark>, as DOM nodes. */
export function marked(text, ranges) {
  const fragment = document.createDocumentFragment();
  const sorted = ranges.filter(Boolean).sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [start, end] of sorted) {
    if (start < at) continue; // overlapping ranges: keep the first
    append(fragment, text.slice(at, start), el("mark", {}, text.slice(start, end)));
    at = end;
  }
  append(fragment, text.slice(at));
  return fragment;
}

/** Ranges of each query word in the text, ignoring case and diacritics. */
export function wordRanges(text, query) {
  const fold = (s) => s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
  const folded = fold(text);
  if (folded.length !== text.length) return [];
  const ranges = [];
  for (const word of new Set(fold(query).split(/[^\p{L}\p{N}]+/u))) {
    if (word.length < 3) continue;
    let at = folded.indexOf(word);
    while (at >= 0) {
      ranges.push([at, at + word.length]);
      at = folded.indexOf(word, at + word.length);
    }
  }
  return ranges;
}

/** "Section · p. 3" for a hit or citation. */
export function placeText(item) {
  const parts = [];
  if (item.section) parts.push(item.section);
  if (item.page) parts.push(t("meta.page", { page: item.page }));
  return parts.join(" · ");
}
