/* What the planner says: the server's translated sentences with their placeholders filled in,
 * the status line, and a small element factory. */

import { state } from "./state.js";

/** Fill Python-style "%(name)s" placeholders; a missing value becomes "". */
export function fmt(template, values) {
  return String(template || "").replace(/%\((\w+)\)s/g, (_, key) =>
    values && values[key] !== undefined && values[key] !== null ? String(values[key]) : "");
}

/** A sentence from the server's catalogue (its key when the page did not send it). */
export function t(key, values) {
  return fmt(state.texts[key] || key, values);
}

/** Say something on the status line; cleared first so a screen reader repeats an identical message. */
export function announce(message, isError) {
  const status = state.statusEl;
  if (!status) return;
  status.classList.toggle("error", !!isError);
  status.textContent = "";
  window.requestAnimationFrame(() => { status.textContent = message; });
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}
