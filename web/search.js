// The coordinators' search page: query plus filters, results grouped by document (best passage
// first, the others one click away) with the query's words marked and counts beside each filter
// value. The whole state lives in the URL's query string, so a search can be shared as a link.

import { initLanguage, onLanguage, language, t } from "./i18n.js";
import { api, el, append, label, marked, placeText } from "./common.js";

const FILTERS = ["type", "year", "region", "language", "doc"];
const FACETS = ["type", "year", "region", "language"];
const TYPES = ["strategy", "report", "service"];
const K = 30;
let facets = null; // matched documents per filter value, from the last search

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
  return el("option", { value, dataset: { plain: text ?? value } }, text ?? value);
}

function baseText(option) {
  if (option.dataset.key) return t(option.dataset.key);
  if (option.dataset.code) return languageName(option.dataset.code);
  return option.dataset.plain ?? option.value;
}

/** Each filter value with how many matched documents have it, e.g. "Strategy (2)". */
function renderOptionTexts() {
  for (const name of FACETS) {
    for (const option of form.elements[name].options) {
      if (!option.value) continue;
      const count = facets ? (facets[name][option.value] ?? 0) : null;
      option.textContent = count === null ? baseText(option) : `${baseText(option)} (${count})`;
    }
  }
}

function distinct(values) {
  return [...new Set(values.filter((v) => v !== null && v !== undefined && v !== ""))];
}

function fillFilters(documents) {
  const types = distinct([...TYPES, ...documents.map((d) => d.type)]);
  fillSelect($("f-type"), types.map((type) => TYPES.includes(type)
    ? el("option", { value: type, dataset: { key: `type.${type}` } }) : plain(type)));
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
  renderOptionTexts();
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
  $("f-sort").value = params.get("sort") === "year" ? "year" : "relevance";
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
  if ($("f-sort").value === "year") params.set("sort", "year");
  return params;
}

/** Where a passage stands (section · page) as a link to the file at that page, and its
 * snippet: the best sentences with the query's words marked. */
function passageBody(passage) {
  const place = placeText(passage);
  const link = el("a", { href: passage.link, target: "_blank", rel: "noopener noreferrer" },
    place || t("search.open"));
  return [el("p", { class: "meta place" }, link),
    el("p", { class: "snippet" }, marked(passage.snippet, passage.marks))];
}

function moreButton(count, title, list) {
  const button = label("button", "search.more", { n: count },
    { type: "button", class: "secondary more", "aria-expanded": "false", "aria-controls": list.id });
  button.dataset.i18nLabel = "search.moreLabel";
  button.setAttribute("aria-label", t("search.moreLabel", { n: count, title }));
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    list.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    button.dataset.i18n = open ? "search.fewer" : "search.more";
    button.textContent = t(button.dataset.i18n, { n: count });
    if (open) button.removeAttribute("aria-label");
    else button.setAttribute("aria-label", t("search.moreLabel", { n: count, title }));
  });
  return button;
}

function renderGroup(group, index) {
  const id = `result-${index + 1}`;
  const meta = [];
  if (group.type) meta.push(TYPES.includes(group.type) ? t(`type.${group.type}`) : group.type);
  if (group.year) meta.push(String(group.year));
  if (group.region) meta.push(group.region);
  const [best, ...rest] = group.passages;
  const item = el("li", { class: "result", "aria-labelledby": `${id}-title`, dataset: { doc: group.doc } },
    el("h2", { class: "result-title", id: `${id}-title` },
      el("a", { href: best.link, target: "_blank", rel: "noopener noreferrer" }, group.title)),
    meta.length ? el("p", { class: "meta" }, meta.join(" · ")) : null,
    passageBody(best));
  if (rest.length) {
    const list = el("ol", { class: "more-passages", id: `${id}-more`, hidden: true },
      rest.map((p) => el("li", {}, passageBody(p))));
    item.append(moreButton(rest.length, group.title, list), list);
  }
  return item;
}

function exportLinks(query) {
  for (const format of ["csv", "json"]) {
    const params = new URLSearchParams(query);
    params.set("format", format);
    params.delete("group");
    $(`export-${format}`).href = `/api/search/export?${params}`;
  }
}

async function run(params) {
  results.replaceChildren();
  $("export").hidden = true;
  status.classList.remove("error");
  const q = params.get("q");
  if (!q) {
    status.replaceChildren();
    return;
  }
  status.replaceChildren(label("span", "search.searching"));
  const query = new URLSearchParams(params);
  query.set("k", String(K));
  query.set("group", "document");
  try {
    const body = await api(`/api/search?${query}`);
    facets = body.facets;
    renderOptionTexts();
    results.replaceChildren(...body.groups.map(renderGroup));
    exportLinks(query);
    $("export").hidden = !body.groups.length;
    status.replaceChildren(body.groups.length
      ? label("span", "search.docCount", { docs: body.groups.length, n: body.hits.length })
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
  onLanguage(renderOptionTexts);
  form.addEventListener("submit", submit);
  for (const name of [...FILTERS, "sort"]) {
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
