// The chat page: ask, show the answer with numbered citations, open a cited passage with the
// quoted sentence highlighted; earlier turns go along as history for follow-ups.

import { initLanguage, t } from "./i18n.js";
import { api, el, append, label, findQuote, marked, fileUrl, placeText } from "./common.js";

const MAX_HISTORY = 10; // turns sent back; the API takes at most 20
const SNIPPET_CHARS = 280;
const history = [];
let lastTrigger = null;
let turns = 0;

const $ = (id) => document.getElementById(id);
const form = $("ask-form");
const question = $("question");
const askButton = $("ask");
const status = $("status");
const conversation = $("conversation");
const passage = $("passage");

function setStatus(key, vars, isError = false) {
  status.replaceChildren();
  status.classList.toggle("error", isError);
  if (key) append(status, label("span", key, vars));
}

function busy(on) {
  askButton.disabled = on;
  form.setAttribute("aria-busy", on ? "true" : "false");
  setStatus(on ? "chat.thinking" : null);
}

/** One paragraph of the answer, with [n] (or [1, 2]) turned into citation buttons. */
function answerParagraph(text, citations) {
  const paragraph = el("p");
  const pattern = /\[(\d+(?:\s*,\s*\d+)*)\]/g;
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    const numbers = match[1].split(",").map((n) => Number(n.trim()));
    if (!numbers.every((n) => citations.has(n))) continue; // not a citation: leave as text
    append(paragraph, text.slice(at, match.index));
    for (const n of numbers) paragraph.append(citeButton(citations.get(n)));
    at = match.index + match[0].length;
  }
  append(paragraph, text.slice(at));
  return paragraph;
}

function citeButton(citation) {
  const button = el("button", { type: "button", class: "cite" }, `[${citation.n}]`);
  const vars = { n: citation.n, title: citation.title };
  button.dataset.i18nLabel = "cite.label";
  button.dataset.i18nArgs = JSON.stringify(vars);
  button.setAttribute("aria-label", t("cite.label", vars));
  button.addEventListener("click", () => openPassage(citation, button));
  return button;
}

function sourceItem(citation) {
  const button = el("button", { type: "button", class: "source" },
    `[${citation.n}] `, el("span", { class: "source-title" }, citation.title));
  const place = placeText(citation);
  if (place) append(button, el("span", { class: "meta" }, ` — ${place}`));
  button.addEventListener("click", () => openPassage(citation, button));
  return el("li", {}, button);
}

function closestItem(hit) {
  const button = el("button", { type: "button", class: "source" },
    el("span", { class: "source-title" }, hit.title));
  const place = placeText(hit);
  if (place) append(button, el("span", { class: "meta" }, ` — ${place}`));
  button.addEventListener("click", () => openPassage(hit, button));
  const text = hit.text.length > SNIPPET_CHARS ? hit.text.slice(0, SNIPPET_CHARS) + "…" : hit.text;
  return el("li", {}, button, el("p", { class: "snippet" }, text));
}

function renderTurn(asked, answer) {
  const turn = el("article", { class: "turn" });
  turn.append(el("p", { class: "q" }, label("span", "chat.you", undefined, { class: "who" }),
    el("span", { class: "q-text" }, asked)));
  const box = el("div", { class: answer.abstained ? "a abstained" : "a" });
  box.append(label("span", "chat.assistant", undefined, { class: "who" }));
  const citations = new Map(answer.citations.map((c) => [c.n, c]));
  const body = el("div", { class: "answer-text" });
  for (const part of answer.answer.split(/\n{2,}/)) body.append(answerParagraph(part, citations));
  box.append(body);
  if (answer.resolved_question && answer.resolved_question !== answer.question) {
    box.append(label("p", "chat.resolved", { q: answer.resolved_question }, { class: "note" }));
  }
  if (answer.citations.length) {
    box.append(label("h3", "chat.sources"),
      el("ol", { class: "sources" }, answer.citations.map(sourceItem)));
  }
  if (answer.abstained && answer.closest.length) {
    box.append(label("h3", "chat.closest"),
      el("ol", { class: "closest" }, answer.closest.map(closestItem)));
  }
  turns += 1;
  box.append(el("p", { class: "actions" }, copyButton(answer)), feedbackForm(asked, answer, turns));
  turn.append(box);
  conversation.append(turn);
  turn.scrollIntoView({ block: "nearest" });
}

/** The answer's plain text with its file links made absolute, so they work when pasted. */
function absoluteLinks(text) {
  return text.replace(/^(\s+)(\/api\/documents\/\S+)$/gm,
    (match, space, path) => space + new URL(path, location.origin).href);
}

function copyButton(answer) {
  const button = label("button", "chat.copy", undefined, { type: "button", class: "secondary copy" });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(absoluteLinks(answer.plain_text));
      setStatus("chat.copied");
    } catch (error) {
      setStatus("chat.copyFailed", { message: error.message }, true);
    }
  });
  return button;
}

/** The passages a person may point to as the right one: the citations, then the closest. */
function passageOptions(answer) {
  const seen = new Set();
  const options = [label("option", "feedback.none", undefined, { value: "" })];
  const items = [...answer.citations, ...answer.closest];
  for (const item of items) {
    if (seen.has(item.id)) continue;
    seen.add(item.id);
    const place = placeText(item);
    const name = `${item.n ? `[${item.n}] ` : ""}${item.title}${place ? ` — ${place}` : ""}`;
    options.push(el("option", { value: item.id }, name));
  }
  return options;
}

/** "Helpful" / "Wrong or missing", an optional comment and, for a wrong answer, the passage
 * that does answer it. Nothing about the person is sent. */
function feedbackForm(asked, answer, number) {
  const id = (name) => `fb-${number}-${name}`;
  const form = el("form", { class: "feedback", novalidate: true });
  const verdicts = ["helpful", "wrong"].map((verdict) => label("button", `feedback.${verdict}`,
    undefined, { type: "button", class: "secondary verdict", "aria-pressed": "false",
      dataset: { verdict } }));
  const details = el("div", { class: "feedback-details", hidden: true },
    el("p", {}, label("label", "feedback.comment", undefined, { for: id("comment") }),
      el("textarea", { id: id("comment"), name: "comment", rows: "2", maxlength: "2000" })),
    el("p", { class: "pointer", hidden: true },
      label("label", "feedback.passage", undefined, { for: id("passage") }),
      el("select", { id: id("passage"), name: "passage" }, passageOptions(answer))),
    el("p", {}, label("button", "feedback.send", undefined, { type: "submit" })),
    label("p", "feedback.privacy", undefined, { class: "note" }));
  for (const button of verdicts) {
    button.addEventListener("click", () => {
      for (const other of verdicts) other.setAttribute("aria-pressed", String(other === button));
      details.hidden = false;
      details.querySelector(".pointer").hidden = button.dataset.verdict !== "wrong";
      form.elements.comment.focus();
    });
  }
  form.append(el("fieldset", {}, label("legend", "feedback.legend"), ...verdicts, details));
  form.addEventListener("submit", (event) => sendFeedback(event, form, asked, answer));
  return form;
}

async function sendFeedback(event, form, asked, answer) {
  event.preventDefault();
  const chosen = form.querySelector('[aria-pressed="true"]');
  if (!chosen) return;
  const verdict = chosen.dataset.verdict;
  const body = { verdict, question: asked, answer: answer.answer.slice(0, 8000) };
  const comment = form.elements.comment.value.trim();
  if (comment) body.comment = comment;
  if (verdict === "wrong" && form.elements.passage.value) body.passage = form.elements.passage.value;
  try {
    await api("/api/feedback", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    form.replaceChildren(label("p", "feedback.thanks", undefined, { class: "thanks", role: "status" }));
  } catch (error) {
    setStatus("error.generic", { message: error.message }, true);
  }
}

/** Where the quote stands in the passage: a citation's own offsets when they hold it, else
 * a search for the quote (exact, then ignoring whitespace). */
function quoteRange(item, quote) {
  const squeeze = (s) => s.replace(/\s+/g, " ").trim();
  if (item.quote && Array.isArray(item.offsets)) {
    const [start, end] = item.offsets;
    if (squeeze(item.text.slice(start, end)) === squeeze(quote)) return [start, end];
  }
  return findQuote(item.text, quote);
}

/** Show a passage (a citation, or a hit from `closest`) with its quote highlighted. */
function openPassage(item, trigger) {
  lastTrigger = trigger;
  const quote = item.quote || (item.highlights && item.highlights[0]) || "";
  const heading = $("passage-heading");
  heading.replaceChildren(label("span", "passage.heading"), item.n ? ` [${item.n}]` : "");
  $("passage-title").textContent = item.title;
  $("passage-section").textContent = item.section || "—";
  $("passage-page").textContent = item.page ?? "—";
  const range = quoteRange(item, quote);
  $("passage-text").replaceChildren(marked(item.text, range ? [range] : []));
  // OCR-repaired text is marked as such; the text as extracted is one click away (same offsets).
  const repaired = Boolean(item.ocr_repaired && item.original_text);
  $("passage-repaired").hidden = !repaired;
  const toggle = $("passage-original");
  toggle.setAttribute("aria-pressed", "false");
  toggle.replaceChildren(label("span", "passage.showOriginal"));
  toggle.onclick = () => {
    const showing = toggle.getAttribute("aria-pressed") === "true";
    const text = showing ? item.text : item.original_text;
    $("passage-text").replaceChildren(marked(text, range ? [range] : []));
    toggle.setAttribute("aria-pressed", String(!showing));
    toggle.replaceChildren(label("span", showing ? "passage.showOriginal" : "passage.showRepaired"));
  };
  $("passage-note").hidden = Boolean(range) || !quote;
  const link = $("passage-link");
  link.href = fileUrl(item.doc, item.page);
  const key = item.page ? "passage.openPage" : "passage.open";
  link.replaceChildren(label("span", key, item.page ? { page: item.page } : undefined));
  passage.hidden = false;
  heading.focus();
  const mark = passage.querySelector("mark");
  if (mark) mark.scrollIntoView({ block: "nearest" });
}

function closePassage() {
  passage.hidden = true;
  if (lastTrigger) lastTrigger.focus();
}

async function ask(event) {
  event.preventDefault();
  const text = question.value.trim();
  if (!text) {
    setStatus("chat.empty", undefined, true);
    question.focus();
    return;
  }
  busy(true);
  try {
    const answer = await api("/api/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question: text, history: history.slice(-MAX_HISTORY) }),
    });
    busy(false);
    renderTurn(text, answer);
    history.push({ question: text, answer: answer.answer });
    question.value = "";
  } catch (error) {
    busy(false);
    setStatus("error.generic", { message: error.message }, true);
  }
  question.focus();
}

function newConversation() {
  history.length = 0;
  for (const turn of conversation.querySelectorAll(".turn")) turn.remove();
  passage.hidden = true;
  setStatus(null);
  question.value = "";
  question.focus();
}

form.addEventListener("submit", ask);
question.addEventListener("keydown", (event) => {
  // Enter asks; Shift+Enter makes a new line.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});
$("new-chat").addEventListener("click", newConversation);
$("passage-close").addEventListener("click", closePassage);
passage.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closePassage();
});
initLanguage();
