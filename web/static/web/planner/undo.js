/* One level of undo: the last saved change, written back through the API (with If-Match).
 * Undoing a creation cancels the meeting; undoing a cancellation books it anew. */

import { api, errorMessage, meetingUrl } from "./api.js";
import { applyMeeting, reload } from "./blocks.js";
import { state } from "./state.js";
import { announce, t } from "./text.js";

/** The Undo button keeps its label from the page for when there is nothing to undo. */
export function initUndo(button) {
  state.undo.button = button;
  if (button) button.dataset.label = button.textContent;
}

/** Remember a saved change: {kind: "update" | "create" | "cancel", id, body?, visit?, what}. */
export function recordUndo(entry) {
  const undo = state.undo;
  undo.last = entry;
  if (!undo.button) return;
  undo.button.disabled = false;
  undo.button.textContent = t("undo_label", { what: entry.what });
}

function resetUndo() {
  const undo = state.undo;
  undo.last = null;
  if (!undo.button) return;
  undo.button.disabled = true;
  undo.button.textContent = undo.button.dataset.label;
}

export function canUndo() {
  return !!state.undo.last;
}

export function runUndo() {
  const entry = state.undo.last;
  if (!entry) { announce(t("nothing_to_undo")); return; }
  const config = state.config;
  const block = state.blocks[entry.id];
  let request;
  if (entry.kind === "update") {
    request = api("PATCH", meetingUrl(entry.id), entry.body, block && block.version);
  } else if (entry.kind === "create") {
    request = api("POST", meetingUrl(entry.id, "cancel"), undefined, block && block.version);
  } else { // a cancelled meeting cannot come back; undo books the same meeting anew
    const body = Object.assign({ timezone: config.timezone }, entry.body);
    if (entry.visit) body.visit = entry.visit;
    request = api("POST", config.urls.meetings, body);
  }
  request.then((result) => {
    if (result.status !== 200 && result.status !== 201) {
      if (result.status === 412 && block) {
        reload(block).then(() => { announce(t("stale", { title: block.title }), true); });
      } else {
        announce(t("refused", { message: errorMessage(result) }), true);
      }
      return;
    }
    const updated = applyMeeting(result.data, result.version);
    resetUndo();
    if (updated.el) updated.el.focus();
    announce(t("undone", { what: entry.what }));
  });
}
