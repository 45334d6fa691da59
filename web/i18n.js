// Interface strings in Swedish and English; the language comes from the browser unless the
// person picked one (remembered in localStorage). Only textContent and attributes are set.

const STRINGS = {
  en: {
    "app.name": "Integration assistant",
    "skip": "Skip to main content",
    "nav.label": "Pages",
    "nav.chat": "Ask",
    "nav.search": "Search",
    "nav.upload": "Upload",
    "lang.label": "Language",
    "chat.title": "Ask the documents",
    "chat.intro": "Answers come only from the indexed strategies, reports and service documents, with numbered sources. Follow-up questions use the conversation so far.",
    "chat.question": "Your question",
    "chat.ask": "Ask",
    "chat.new": "New conversation",
    "chat.thinking": "Looking in the documents…",
    "chat.you": "You",
    "chat.assistant": "Assistant",
    "chat.sources": "Sources",
    "chat.closest": "Closest passages",
    "chat.refusal": "The documents do not answer this. These passages came closest:",
    "chat.resolved": "Understood as: {q}",
    "chat.answered": "Answer: {text}",
    "chat.empty": "Write a question first.",
    "cite.label": "Source {n}: {title}",
    "passage.heading": "Source",
    "passage.section": "Section",
    "passage.page": "Page",
    "passage.open": "Open the document",
    "passage.openPage": "Open the document at page {page}",
    "passage.close": "Close",
    "passage.noquote": "The quoted sentence could not be found in the passage.",
    "passage.repaired": "Automatically corrected text: å, ä and ö lost in scanning were restored.",
    "passage.showOriginal": "Show the original text",
    "passage.showRepaired": "Show the corrected text",
    "error.generic": "Something went wrong: {message}",
    "error.network": "The server could not be reached.",
    "search.title": "Search the documents",
    "search.query": "Search words",
    "search.submit": "Search",
    "search.filters": "Filters",
    "search.count": "{n} passages",
    "search.none": "No passages found.",
    "search.share": "The address of this page holds the search, so it can be shared.",
    "search.searching": "Searching…",
    "filter.type": "Type",
    "filter.year": "Year",
    "filter.region": "Region",
    "filter.language": "Document language",
    "filter.doc": "Document",
    "filter.any": "Any",
    "type.strategy": "Strategy",
    "type.report": "Report",
    "type.service": "Service information",
    "meta.page": "p. {page}",
    "upload.title": "Add and remove documents",
    "upload.keyLegend": "API key",
    "upload.key": "API key",
    "upload.keyHint": "Kept only in this browser tab.",
    "upload.forget": "Forget key",
    "upload.fileLegend": "Document",
    "upload.file": "File (PDF, Markdown, HTML or text)",
    "upload.docTitle": "Title (optional)",
    "upload.publisher": "Publisher (optional)",
    "upload.year": "Year (optional)",
    "upload.type": "Type (optional)",
    "upload.region": "Region (optional)",
    "upload.language": "Language code (optional, e.g. sv)",
    "upload.submit": "Upload",
    "upload.sending": "Uploading…",
    "upload.sent": "Uploaded {name}; it is being indexed.",
    "upload.needKey": "Enter the API key first.",
    "upload.needFile": "Choose a file first.",
    "upload.remove": "Remove",
    "upload.removeLabel": "Remove {title}",
    "upload.confirmRemove": "Remove {title} from the corpus and the index?",
    "upload.removed": "{title} is being removed.",
    "search.docCount": "{docs} documents, {n} passages",
    "search.sort": "Sort by",
    "sort.relevance": "Relevance",
    "sort.year": "Year, newest first",
    "search.more": "{n} more passages in this document",
    "search.fewer": "Hide the other passages",
    "search.moreLabel": "{n} more passages in {title}",
    "search.resultsLabel": "Results, grouped by document",
    "search.export": "Export the results:",
    "search.exportCsv": "CSV",
    "search.exportJson": "JSON",
    "search.openAt": "Open at page {page}",
    "search.open": "Open the document",
    "chat.copy": "Copy answer with sources",
    "chat.copied": "The answer and its sources are on the clipboard.",
    "chat.copyFailed": "Could not copy: {message}",
    "feedback.legend": "Was this answer useful?",
    "feedback.helpful": "Helpful",
    "feedback.wrong": "Wrong or missing",
    "feedback.comment": "Comment (optional)",
    "feedback.passage": "The passage that answers it (optional)",
    "feedback.none": "None of these",
    "feedback.send": "Send feedback",
    "feedback.thanks": "Thank you: your feedback was saved (without your identity).",
    "feedback.privacy": "Personal identity numbers are masked; nothing about you is stored.",
    "upload.files": "Files (PDF, Markdown, HTML, text or zip; several at once)",
    "upload.folder": "Or a whole folder",
    "upload.drop": "Drop files or a folder here",
    "upload.dropLabel": "Drop zone for files and folders",
    "upload.chosen": "{n} files chosen",
    "upload.batchSent": "{queued} files queued, {failed} refused; they are indexed together.",
    "upload.batchTitle": "This upload",
    "upload.metaNote": "Title and the other details apply when a single file is uploaded.",
    "catalog.title": "Documents",
    "catalog.caption": "Documents and their indexing state",
    "col.title": "Title",
    "col.status": "State",
    "col.pages": "Pages",
    "col.chunks": "Passages",
    "col.problems": "Problems",
    "col.actions": "Actions",
    "status.queued": "Queued",
    "status.indexing": "Indexing",
    "status.indexed": "Indexed",
    "status.failed": "Failed",
    "status.removing": "Removing",
    "status.unindexed": "Not indexed",
  },
  sv: {
    "app.name": "Integrationsassistenten",
    "skip": "Hoppa till innehållet",
    "nav.label": "Sidor",
    "nav.chat": "Fråga",
    "nav.search": "Sök",
    "nav.upload": "Ladda upp",
    "lang.label": "Språk",
    "chat.title": "Fråga dokumenten",
    "chat.intro": "Svaren kommer bara från de indexerade strategierna, rapporterna och servicedokumenten, med numrerade källor. Följdfrågor använder samtalet hittills.",
    "chat.question": "Din fråga",
    "chat.ask": "Fråga",
    "chat.new": "Nytt samtal",
    "chat.thinking": "Letar i dokumenten…",
    "chat.you": "Du",
    "chat.assistant": "Assistenten",
    "chat.sources": "Källor",
    "chat.closest": "Närmaste stycken",
    "chat.refusal": "Dokumenten svarar inte på detta. De här styckena kom närmast:",
    "chat.resolved": "Tolkat som: {q}",
    "chat.answered": "Svar: {text}",
    "chat.empty": "Skriv en fråga först.",
    "cite.label": "Källa {n}: {title}",
    "passage.heading": "Källa",
    "passage.section": "Avsnitt",
    "passage.page": "Sida",
    "passage.open": "Öppna dokumentet",
    "passage.openPage": "Öppna dokumentet på sida {page}",
    "passage.close": "Stäng",
    "passage.noquote": "Den citerade meningen hittades inte i stycket.",
    "passage.repaired": "Automatiskt korrigerad text: å, ä och ö som försvann vid skanningen har återställts.",
    "passage.showOriginal": "Visa originaltexten",
    "passage.showRepaired": "Visa den korrigerade texten",
    "error.generic": "Något gick fel: {message}",
    "error.network": "Servern gick inte att nå.",
    "search.title": "Sök i dokumenten",
    "search.query": "Sökord",
    "search.submit": "Sök",
    "search.filters": "Filter",
    "search.count": "{n} stycken",
    "search.none": "Inga stycken hittades.",
    "search.share": "Sidans adress innehåller sökningen och kan delas.",
    "search.searching": "Söker…",
    "filter.type": "Typ",
    "filter.year": "År",
    "filter.region": "Region",
    "filter.language": "Dokumentets språk",
    "filter.doc": "Dokument",
    "filter.any": "Alla",
    "type.strategy": "Strategi",
    "type.report": "Rapport",
    "type.service": "Serviceinformation",
    "meta.page": "s. {page}",
    "upload.title": "Lägg till och ta bort dokument",
    "upload.keyLegend": "API-nyckel",
    "upload.key": "API-nyckel",
    "upload.keyHint": "Sparas bara i den här fliken.",
    "upload.forget": "Glöm nyckeln",
    "upload.fileLegend": "Dokument",
    "upload.file": "Fil (PDF, Markdown, HTML eller text)",
    "upload.docTitle": "Titel (valfritt)",
    "upload.publisher": "Utgivare (valfritt)",
    "upload.year": "År (valfritt)",
    "upload.type": "Typ (valfritt)",
    "upload.region": "Region (valfritt)",
    "upload.language": "Språkkod (valfritt, t.ex. sv)",
    "upload.submit": "Ladda upp",
    "upload.sending": "Laddar upp…",
    "upload.sent": "{name} är uppladdad och indexeras nu.",
    "upload.needKey": "Ange API-nyckeln först.",
    "upload.needFile": "Välj en fil först.",
    "upload.remove": "Ta bort",
    "upload.removeLabel": "Ta bort {title}",
    "upload.confirmRemove": "Ta bort {title} ur korpusen och indexet?",
    "upload.removed": "{title} tas bort.",
    "search.docCount": "{docs} dokument, {n} stycken",
    "search.sort": "Sortera efter",
    "sort.relevance": "Relevans",
    "sort.year": "År, nyaste först",
    "search.more": "{n} stycken till i detta dokument",
    "search.fewer": "Dölj de andra styckena",
    "search.moreLabel": "{n} stycken till i {title}",
    "search.resultsLabel": "Resultat, grupperade per dokument",
    "search.export": "Exportera resultaten:",
    "search.exportCsv": "CSV",
    "search.exportJson": "JSON",
    "search.openAt": "Öppna på sida {page}",
    "search.open": "Öppna dokumentet",
    "chat.copy": "Kopiera svaret med källor",
    "chat.copied": "Svaret och källorna finns i urklipp.",
    "chat.copyFailed": "Kunde inte kopiera: {message}",
    "feedback.legend": "Var svaret till nytta?",
    "feedback.helpful": "Till hjälp",
    "feedback.wrong": "Fel eller saknas",
    "feedback.comment": "Kommentar (valfritt)",
    "feedback.passage": "Stycket som svarar på frågan (valfritt)",
    "feedback.none": "Inget av dessa",
    "feedback.send": "Skicka återkoppling",
    "feedback.thanks": "Tack! Återkopplingen sparades (utan uppgifter om dig).",
    "feedback.privacy": "Personnummer maskeras; inget om dig sparas.",
    "upload.files": "Filer (PDF, Markdown, HTML, text eller zip; flera på en gång)",
    "upload.folder": "Eller en hel mapp",
    "upload.drop": "Släpp filer eller en mapp här",
    "upload.dropLabel": "Yta att släppa filer och mappar på",
    "upload.chosen": "{n} filer valda",
    "upload.batchSent": "{queued} filer i kö, {failed} avvisade; de indexeras tillsammans.",
    "upload.batchTitle": "Den här uppladdningen",
    "upload.metaNote": "Titel och de andra uppgifterna gäller när en enda fil laddas upp.",
    "catalog.title": "Dokument",
    "catalog.caption": "Dokumenten och hur långt indexeringen har kommit",
    "col.title": "Titel",
    "col.status": "Läge",
    "col.pages": "Sidor",
    "col.chunks": "Stycken",
    "col.problems": "Problem",
    "col.actions": "Åtgärder",
    "status.queued": "I kö",
    "status.indexing": "Indexeras",
    "status.indexed": "Indexerat",
    "status.failed": "Misslyckades",
    "status.removing": "Tas bort",
    "status.unindexed": "Inte indexerat",
  },
};

export const LANGUAGES = ["sv", "en"];
const STORAGE_KEY = "assistant.lang";
let current = "en";
const listeners = [];

function pick() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGUAGES.includes(saved)) return saved;
  } catch (e) { /* storage may be off */ }
  const browser = (navigator.languages && navigator.languages[0]) || navigator.language || "";
  return /^(sv|nb|nn|no|da)\b/i.test(browser) ? "sv" : "en";
}

export function language() {
  return current;
}

/** The string for `key` in the current language, with {name} placeholders filled. */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** Translate every element under `root` marked with data-i18n (text) or data-i18n-* attrs. */
export function translate(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    const vars = node.dataset.i18nArgs ? JSON.parse(node.dataset.i18nArgs) : {};
    node.textContent = t(node.dataset.i18n, vars);
  }
  for (const attr of ["label", "placeholder", "title"]) {
    for (const node of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      const vars = node.dataset.i18nArgs ? JSON.parse(node.dataset.i18nArgs) : {};
      const value = t(node.getAttribute(`data-i18n-${attr}`), vars);
      node.setAttribute(attr === "label" ? "aria-label" : attr, value);
    }
  }
}

function apply(lang) {
  current = lang;
  document.documentElement.lang = lang;
  const select = document.getElementById("lang");
  if (select) select.value = lang;
  translate(document);
  document.title = t(document.body.dataset.titleKey || "app.name") + " – " + t("app.name");
  for (const listener of listeners) listener(lang);
}

/** Set the language, remember it, and re-translate the page. */
export function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) return;
  try { localStorage.setItem(STORAGE_KEY, lang); } catch (e) { /* storage may be off */ }
  apply(lang);
}

/** Call `listener(lang)` after every language change. */
export function onLanguage(listener) {
  listeners.push(listener);
}

/** Pick the language and wire the switch; call once per page. */
export function initLanguage() {
  const select = document.getElementById("lang");
  if (select) select.addEventListener("change", () => setLanguage(select.value));
  apply(pick());
}
