/* Meeting blocks: read from the server's buttons, drawn on their grid, moved or resized in place
 * (pending until saved or put back), checked for clashes as a preview, and redrawn from the API's
 * answer. A block is
 *   {id, el, grid, lane, start, end (minutes of its grid's day; end may pass 1440), room, people,
 *    blocking (people who cannot be in two places), title, status, version (for If-Match),
 *    sub (steps aside when cancelled), saved (the last saved position), override, saving,
 *    repair (where a repair after a decline is previewed, or "")}. */

import { drawAnswers } from "./answers.js";
import { api, meetingUrl } from "./api.js";
import { busyReasons, forgetBusy, loadBusy } from "./busy.js";
import { gridForDay, laneForRoom, personName, place, rememberPerson, roomName } from "./grid.js";
import { SLOT, state } from "./state.js";
import { announce, el, t } from "./text.js";
import { hhmm, isoToLocal, minutesFrom, overlaps } from "./time.js";

function ids(text) {
  return (text || "").split(",").filter(Boolean).map(Number);
}

/** A block as the server rendered it (data attributes of its button). */
export function readBlock(node, grid) {
  const block = {
    id: +node.dataset.meeting,
    el: node,
    grid: grid,
    lane: grid.lanes[+node.dataset.lane] || null,
    start: grid.origin + (+node.dataset.start),
    end: grid.origin + (+node.dataset.end),
    room: node.dataset.room ? +node.dataset.room : null,
    people: ids(node.dataset.people),
    blocking: ids(node.dataset.blocking),
    title: node.dataset.title,
    status: node.dataset.status,
    version: node.dataset.version,
    sub: +node.dataset.sub || 0,
    repair: node.dataset.repair || ""
  };
  // a meeting running past midnight is clipped on the grid; keep its real length so a move keeps it
  if (state.config && node.dataset.startsAt && node.dataset.endsAt) {
    block.start = minutesFrom(grid.day, node.dataset.startsAt);
    block.end = minutesFrom(grid.day, node.dataset.endsAt);
  }
  block.saved = snapshot(block);
  return block;
}

export function snapshot(block) {
  return { lane: block.lane, start: block.start, end: block.end, room: block.room };
}

export function draw(block) {
  const laneIndex = block.lane ? block.lane.index : 0;
  place(block.el, block.grid, laneIndex, block.start, block.end);
  block.el.style.setProperty("--sub", String(block.sub || 0));
  block.el.dataset.lane = String(laneIndex);
  const time = block.el.querySelector(".tl-time");
  const text = hhmm(block.start) + "–" + hhmm(block.end);
  if (time && time.textContent !== text) time.textContent = text; // keeps the server's <time> elements until moved
}

/** Moved or resized since the last save. */
export function isPending(block) {
  const s = block.saved;
  return s.start !== block.start || s.end !== block.end || s.lane !== block.lane;
}

export function anyPending() {
  return Object.keys(state.blocks).some((id) => isPending(state.blocks[id]));
}

function describe(block) {
  const heading = block.grid.el.closest(".timeline-day").querySelector("h3");
  return t("moved", {
    title: block.title, day: heading ? heading.textContent.trim() : block.grid.day,
    start: hhmm(block.start), end: hhmm(block.end),
    room: block.lane ? block.lane.label : roomName(block.room)
  });
}

// --- clashes (a preview; the server decides) ------------------------------------------------------

/** Why the block would clash at [start, end) in ``lane``: the room or a person taken, or busy. */
function clashReasons(block, lane, start, end) {
  const reasons = [];
  const grid = block.grid;
  const room = lane ? lane.room : null;
  Object.keys(state.blocks).forEach((key) => {
    const other = state.blocks[key];
    if (other === block || other.grid !== grid || other.status !== "scheduled") return;
    if (!overlaps(start, end, other.start, other.end)) return;
    if (room && other.room === room) reasons.push(t("clash_room", { room: roomName(room), other: other.title }));
    block.blocking.forEach((person) => {
      if (other.blocking.indexOf(person) >= 0) {
        reasons.push(t("clash_person", { person: personName(person), other: other.title }));
      }
    });
  });
  return reasons.concat(busyReasons(block, room, start, end));
}

/** Mark the block as clashing and/or pending; with ``speak``, announce where it is now. */
export function refreshClash(block, speak) {
  const reasons = block.status === "scheduled" ? clashReasons(block, block.lane, block.start, block.end) : [];
  block.el.classList.toggle("clash", reasons.length > 0);
  block.el.classList.toggle("pending", isPending(block));
  if (speak) {
    let message = describe(block);
    if (reasons.length) message += " " + t("clash", { reasons: reasons.join("; ") });
    if (isPending(block)) message += " " + t("unsaved");
    announce(message, reasons.length > 0);
  }
  return reasons;
}

/** Shade the busy times of the block's people and rooms; once they arrive, the clash preview counts them. */
export function showBusy(block) {
  loadBusy(block).then((loaded) => {
    if (loaded && document.activeElement === block.el) refreshClash(block, false);
  });
}

/** The block in focus: outlined, with its busy times shaded. */
export function selectBlock(block) {
  document.querySelectorAll(".tl-block.selected").forEach((n) => n.classList.remove("selected"));
  block.el.classList.add("selected");
  showBusy(block);
}

// --- moving and resizing in place ----------------------------------------------------------------

/** Move or resize a block to [start, end) in ``lane``, kept inside its grid; pending until saved. */
export function change(block, start, end, lane) {
  if (block.status !== "scheduled") { announce(t("cannot_move_cancelled"), true); return; }
  const length = end - start;
  if (length < SLOT) return;
  const lo = block.grid.origin, hi = block.grid.origin + block.grid.minutes;
  if (start < lo) { start = lo; end = lo + length; }
  if (end > hi && end > block.end) { // moving or growing past the grid's last row: stop there
    end = Math.max(hi, block.end);
    start = end - length;
    if (start < lo) return;
  }
  block.start = start;
  block.end = end;
  block.lane = lane;
  block.override = false; // a new position needs its own answer from the server
  draw(block);
  refreshClash(block, true);
}

/** Put a pending block back where it was last saved. */
export function abandon(block, speak) {
  block.override = false;
  if (!isPending(block)) return;
  block.start = block.saved.start;
  block.end = block.saved.end;
  block.lane = block.saved.lane;
  draw(block);
  refreshClash(block, false);
  if (speak) announce(t("abandoned", { title: block.title, start: hhmm(block.start), end: hhmm(block.end) }));
}

// --- the server's answer -------------------------------------------------------------------------

/** Load a meeting as it is now on the server (after a stale write); gone, the block goes back. */
export function reload(block) {
  return api("GET", meetingUrl(block.id)).then((result) => {
    if (result.status === 200) applyMeeting(result.data, result.version);
    else abandon(block, false);
  });
}

/** Draw a meeting from its API representation: update its block (or make one), return the block. */
export function applyMeeting(data, version) {
  const starts = isoToLocal(data.starts_at), ends = isoToLocal(data.ends_at);
  const grid = gridForDay(starts.day);
  let block = state.blocks[data.id];
  if (!grid) { // moved to a day this page does not show
    if (block) { block.el.remove(); delete state.blocks[data.id]; }
    return { title: data.title, start: starts.minutes, end: ends.minutes, room: data.room, lane: null };
  }
  if (!block) {
    const node = el("button", "tl-block");
    node.type = "button";
    node.setAttribute("data-testid", "timeline-block");
    node.setAttribute("aria-describedby", "planner-help");
    node.id = "block-" + data.id;
    grid.el.appendChild(node);
    block = { id: data.id, el: node, sub: 0 };
    state.blocks[data.id] = block;
  } else if (block.grid !== grid) {
    grid.el.appendChild(block.el);
  }
  const participants = data.participants || [];
  block.grid = grid;
  block.title = data.title;
  block.status = data.status;
  block.room = data.room;
  block.start = starts.minutes;
  block.end = Math.max(minutesFrom(starts.day, data.ends_at), starts.minutes + SLOT);
  block.lane = laneForRoom(grid, data.room, data.location) || block.lane || grid.lanes[0] || null;
  block.people = participants.map((p) => p.person);
  block.blocking = participants.filter((p) => p.role !== "guest").map((p) => p.person);
  block.version = version || block.version;
  block.sub = data.status === "cancelled" ? 1 : 0; // a cancelled meeting steps aside for a live one
  block.saved = snapshot(block);
  participants.forEach((p) => rememberPerson(p.person, p.name));
  fillBlock(block, data, participants);
  draw(block);
  block.el.classList.remove("conflict");
  refreshClash(block, false);
  forgetBusy(block);
  return block;
}

/** The button's text (title first: it names the button), classes and data attributes. */
function fillBlock(block, data, participants) {
  const node = block.el;
  node.className = "tl-block kind-" + data.kind + (data.status === "cancelled" ? " cancelled" : "");
  node.dataset.meeting = String(data.id);
  node.dataset.title = data.title;
  node.dataset.status = data.status;
  node.dataset.room = data.room ? String(data.room) : "";
  node.dataset.version = block.version || "";
  node.textContent = "";
  node.appendChild(el("span", "tl-title", data.title));
  node.appendChild(el("span", "tl-time"));
  const where = data.room ? roomName(data.room) : data.location;
  if (where) node.appendChild(el("span", "visually-hidden", ", " + where));
  const hosts = participants.filter((p) => p.role !== "guest").map((p) => p.name);
  if (hosts.length) node.appendChild(el("span", "tl-hosts", hosts.join(", ")));
  if (data.status === "cancelled") node.appendChild(el("span", "tl-flag", state.texts.cancelled_flag || "✕"));
  const handle = el("span", "tl-resize");
  handle.setAttribute("aria-hidden", "true");
  node.appendChild(handle);
  drawAnswers(node, data);
}

/** The block a DOM node belongs to (the node or an ancestor is its button), or null. */
export function blockOf(node) {
  const button = node && node.closest ? node.closest("button.tl-block") : null;
  return button ? state.blocks[+button.dataset.meeting] : null;
}
