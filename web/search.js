// The coordinators' search page: query plus filters, results with the match highlighted.
// The whole state lives in the URL's query string, so a search can be shared as a link.

import { initLanguage, onLanguage, language, t } from "./i18n.js";
import { api, el, append, label, findQuote, marked, wordRanges, fileUrl, placeText } from "./common.js";

const FILTERS = ["type", "year", "region", "language", "doc"];
const TYPES = ["strategy", "report", "service"];
const K = 20;

const $ = (id) => document.getElementById(id);
const form = $("search-form");
const status = $("status");
const results = $("results");

function languageName(code) {
  try {
    return new Intl.DisplayNames([language()], { type: "language" }).of(code) || code;
  } catch (e) {
    return code;
  }
}

function fillSelect(select, options) {
  const current = select.value;
  select.replaceChildren(label("option", "filter.any", undefined, { value: "" }));
  for (const option of options) select.append(option);
  select.value = current;
}

function plain(value, text) {
  return el("option", { value }, text ?? value);
}

function distinct(values) {
  return [...new Set(values.filter((v) => v !== null && v !== undefined && v !== ""))];
}

function fillFilters(documents) {
  const types = distinct([...TYPES, ...documents.map((d) => d.type)]);
  fillSelect($("f-type"), types.map((type) =>
    TYPES.includes(type) ? label("option", `type.${type}`, undefined, { value: type }) : plain(type)));
  const years = distinct(documents.map((d) => d.year)).sort((a, b) => b - a);
  fillSelect($("f-year"), years.map((y) => plain(String(y))));
  const regions = distinct(documents.map((d) => d.region)).sort();
  fillSelect($("f-region"), regions.map((r) => plain(r)));
  const languages = distinct(documents.map((d) => d.language)).filter((l) => l !== "und").sort();
  fillSelect($("f-language"), languages.map((code) => {
    const option = plain(code, languageName(code));
    option.dataset.code = code;
    return option;
  }));
  const docs = [...documents].sort((a, b) => a.title.localeCompare(b.title));
  fillSelect($("f-doc"), docs.map((d) => plain(d.id, d.title)));
}

/** Put the URL's state into the form; a value with no option yet gets one, so it is kept. */
function readUrl() {
  const params = new URLSearchParams(location.search);
  $("q").value = params.get("q") || "";
  for (const name of FILTERS) {
    const select = form.elements[name];
    const value = params.get(name) || "";
    if (value && ![...select.options].some((o) => o.value === value)) select.append(plain(value));
    select.value = value;
  }
  return params;
}

function formParams() {
  const params = new URLSearchParams();
  const q = $("q").value.trim();
  if (q) params.set("q", q);
  for (const name of FILTERS) {
    const value = form.elements[name].value;
    if (value) params.set(name, value);
  }
  return params;
}

/** The passage with the query's words marked; with none of them in it (a cross-lingual or
 * purely semantic match), the best-matching sentences are marked instead. */
function snippet(hit, query) {
  const words = wordRanges(hit.text, query);
  if (words.length) return marked(hit.text, words);
  return marked(hit.text, (hit.highlights || []).map((h) => findQuote(hit.text, h)));
}

function renderHit(hit, query) {
  const meta = [placeText(hit)];
  if (hit.type) meta.push(TYPES.includes(hit.type) ? t(`type.${hit.type}`) : hit.type);
  if (hit.year) meta.push(String(hit.year));
  return el("li", { class: "result" },
    el("h2", { class: "result-title" },
      el("a", { href: fileUrl(hit.doc, hit.page), target: "_blank", rel: "noopener noreferrer" },
        hit.title)),
    el("p", { class: "meta" }, meta.filter(Boolean).join(" · ")),
    el("p", { class: "snippet" }, snippet(hit, query)));
}

async function run(params) {
  results.replaceChildren();
  status.classList.remove("error");
  const q = params.get("q");
  if (!q) {
    status.replaceChildren();
    return;
  }
  status.replaceChildren(label("span", "search.searching"));
  const query = new URLSearchParams(params);
  query.set("k", String(K));
  try {
    const body = await api(`/api/search?${query}`);
    results.replaceChildren(...body.hits.map((hit) => renderHit(hit, q)));
    status.replaceChildren(body.hits.length
      ? label("span", "search.count", { n: body.hits.length })
      : label("span", "search.none"));
  } catch (error) {
    status.classList.add("error");
    status.replaceChildren(label("span", "error.generic", { message: error.message }));
  }
}

function submit(event) {
  if (event) event.preventDefault();
  const params = formParams();
  const search = params.toString();
  if (`?${search}` !== location.search) history.pushState(null, "", search ? `?${search}` : location.pathname);
  run(params);
}

async function start() {
  initLanguage();
  onLanguage(() => {
    for (const option of $("f-language").options) {
      if (option.dataset.code) option.textContent = languageName(option.dataset.code);
    }
  });
  form.addEventListener("submit", submit);
  for (const name of FILTERS) {
    form.elements[name].addEventListener("change", () => {
      if ($("q").value.trim()) submit();
    });
  }
  window.addEventListener("popstate", () => run(readUrl()));
  try {
    const catalog = await api("/api/documents");
    fillFilters(catalog.documents);
  } catch (error) {
    append(status, label("span", "error.generic", { message: error.message }));
  }
  run(readUrl());
}

start();
