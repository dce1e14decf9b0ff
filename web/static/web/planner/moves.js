/* Saving a block moved or resized on the grid (Enter, or a drop): PATCH its times and room with
 * If-Match. A refusal puts it back and says why; a refusal only about availability keeps it in place
 * so that a second Enter books it anyway; a stale version reloads it. */

import { api, errorMessage, meetingUrl, unavailableMessage } from "./api.js";
import { abandon, applyMeeting, isPending, reload } from "./blocks.js";
import { roomName } from "./grid.js";
import { state } from "./state.js";
import { announce, t } from "./text.js";
import { hhmm, localToIso } from "./time.js";
import { brokenRules, rulesNote } from "./rules.js";
import { recordUndo } from "./undo.js";

/** Save a moved or resized block; resolves to true once saved (or when nothing was pending). */
export function saveMove(block) {
  if (!isPending(block)) return Promise.resolve(true);
  if (block.saving) return Promise.resolve(false); // one write per block at a time
  const before = block.saved;
  const body = { starts_at: localToIso(block.grid.day, block.start), ends_at: localToIso(block.grid.day, block.end) };
  if (block.lane !== before.lane && block.lane && block.lane.room) body.room = block.lane.room;
  if (block.override) body.override_availability = true; // the coordinator pressed Enter again
  const undoBody = {
    starts_at: localToIso(block.grid.day, before.start), ends_at: localToIso(block.grid.day, before.end)
  };
  if (body.room) undoBody.room = before.room;
  block.el.classList.add("saving");
  block.saving = true;
  announce(t("saving"));
  return api("PATCH", meetingUrl(block.id), body, block.version).then((result) => {
    block.el.classList.remove("saving");
    block.saving = false;
    if (result.status === 200) {
      const updated = applyMeeting(result.data, result.version);
      recordUndo({ kind: "update", id: block.id, body: undoBody, what: t("what_move", { title: block.title }) });
      announce(t("saved", {
        title: updated.title, start: hhmm(updated.start), end: hhmm(updated.end),
        room: updated.lane ? updated.lane.label : roomName(updated.room)
      }) + rulesNote(result.data), brokenRules(result.data).length > 0);
      return true;
    }
    return refused(block, result);
  });
}

/** A refused write: 412 reloads the meeting; anything else puts the block back and says why. */
function refused(block, result) {
  const code = result.data && result.data.error && result.data.error.code;
  if (result.status === 409 && code === "availability_conflict" && state.config.editable) {
    // someone is absent or a room closed: a coordinator may book anyway, but only on purpose
    block.override = true;
    announce(t("refused_override", { message: unavailableMessage(result) }), true);
    return false;
  }
  if (result.status === 412) {
    return reload(block).then(() => { announce(t("stale", { title: block.title }), true); return false; });
  }
  abandon(block, false);
  if (result.status === 404 || result.status === 403) announce(t("gone"), true);
  else announce(t("refused", { message: errorMessage(result) }), true);
  return false;
}
