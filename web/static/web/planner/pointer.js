/* The pointer: drag a block to move it (also across rooms) or its lower edge to resize it, saved on
 * drop; drag over empty time in a room, or click it, for a new meeting there in the side panel. A
 * finger must be able to scroll the timeline, so on touch a drag starts only after holding still. */

import { abandon, blockOf, change, snapshot } from "./blocks.js";
import { gridOf, laneAt, minuteAt, place, slotHeight } from "./grid.js";
import { saveMove } from "./moves.js";
import { openFor, openNew } from "./panel.js";
import { SLOT, state } from "./state.js";
import { announce, el, t } from "./text.js";
import { hhmm } from "./time.js";

/** How long a finger holds still before it picks a block up (as in phone calendars); a mouse drags at once. */
const HOLD_MS = 350;

function arm(current) {
  if (state.drag !== current) return;
  current.armed = true;
  if (current.block) current.block.el.classList.add("dragging");
  if (navigator.vibrate) navigator.vibrate(15);
}

function startHold(current, event) {
  current.touch = event.pointerType === "touch";
  current.armed = !current.touch;
  if (current.touch) current.timer = window.setTimeout(() => { arm(current); }, HOLD_MS);
}

/** Ignore the click that follows a drag or a held finger's release. */
function suppressNextClick() {
  state.suppressClick = true;
  window.setTimeout(() => { state.suppressClick = false; }, 0);
}

export function onPointerDown(event) {
  if (event.button !== 0 || !state.config.editable) return;
  const block = blockOf(event.target);
  if (block) {
    if (block.status !== "scheduled") return;
    const drag = state.drag = {
      kind: event.target.classList.contains("tl-resize") ? "resize" : "move", block: block,
      x: event.clientX, y: event.clientY, from: snapshot(block), moved: false, pointer: event.pointerId
    };
    startHold(drag, event);
    if (!drag.touch) block.el.setPointerCapture(event.pointerId);
    return;
  }
  const bg = event.target.closest(".lane-bg");
  if (bg && bg.dataset.room) {
    const grid = gridOf(bg);
    const lane = grid.lanes[+bg.dataset.lane];
    const at = minuteAt(grid, event.clientY);
    const selection = el("div", "tl-selection");
    selection.setAttribute("aria-hidden", "true");
    grid.el.appendChild(selection);
    place(selection, grid, lane.index, at, at + SLOT);
    const drag = state.drag = {
      kind: "create", grid: grid, lane: lane, anchor: at, start: at, end: at + SLOT, el: selection,
      x: event.clientX, y: event.clientY, moved: false, pointer: event.pointerId
    };
    startHold(drag, event);
    if (!drag.touch) {
      bg.setPointerCapture(event.pointerId);
      event.preventDefault();
    }
  }
}

export function onPointerMove(event) {
  const drag = state.drag;
  if (!drag || event.pointerId !== drag.pointer) return;
  const slack = drag.touch ? 8 : 4;
  const still = Math.abs(event.clientY - drag.y) < slack && Math.abs(event.clientX - drag.x) < slack;
  if (!drag.moved && still) return;
  if (!drag.armed) { // a finger moved before the hold: it scrolls, nothing is dragged
    window.clearTimeout(drag.timer);
    if (drag.kind === "create") drag.el.remove();
    state.drag = null;
    return;
  }
  drag.moved = true;
  if (drag.kind === "create") {
    const at = minuteAt(drag.grid, event.clientY);
    drag.start = Math.min(drag.anchor, at);
    drag.end = Math.max(drag.anchor, at) + SLOT;
    place(drag.el, drag.grid, drag.lane.index, drag.start, drag.end);
    return;
  }
  const block = drag.block, from = drag.from;
  const slot = slotHeight(block.grid).height;
  const delta = Math.round((event.clientY - drag.y) / slot) * SLOT;
  block.el.classList.add("dragging");
  if (drag.kind === "resize") {
    change(block, from.start, Math.max(from.start + SLOT, from.end + delta), from.lane);
  } else {
    let lane = laneAt(block.grid, event.clientX);
    if (!lane || lane.room === null) lane = block.lane;
    if (lane !== block.lane || from.start + delta !== block.start) {
      change(block, from.start + delta, from.end + delta, lane);
    }
  }
}

export function onPointerUp(event) {
  const current = state.drag;
  if (!current || event.pointerId !== current.pointer) return;
  state.drag = null;
  window.clearTimeout(current.timer);
  if (current.kind === "create") {
    if (!current.moved) { current.start = current.anchor; current.end = current.anchor + 60; }
    current.end = Math.min(current.end, current.grid.origin + current.grid.minutes);
    place(current.el, current.grid, current.lane.index, current.start, current.end);
    openNew(current.grid.day, current.start, current.end, current.lane.room, current.el);
    announce(t("selection", { start: hhmm(current.start), end: hhmm(current.end), room: current.lane.label }));
    return;
  }
  const block = current.block;
  block.el.classList.remove("dragging");
  if (current.touch && current.armed && !current.moved) { // held and let go: the details, as a tap
    suppressNextClick();
    openFor(block);
    return;
  }
  if (current.moved) {
    suppressNextClick();
    block.el.focus();
    saveMove(block); // a drop saves at once; the server may still refuse and the block goes back
  }
}

export function onPointerCancel(event) {
  const drag = state.drag;
  if (!drag || event.pointerId !== drag.pointer) return;
  window.clearTimeout(drag.timer);
  if (drag.kind === "create") drag.el.remove();
  else { drag.block.el.classList.remove("dragging"); abandon(drag.block, true); }
  state.drag = null;
}

/** Once a held finger drags, the page must not scroll under it (touch-action allows panning). */
export function onTouchMove(event) {
  const drag = state.drag;
  if (drag && drag.touch && drag.armed && event.cancelable) event.preventDefault();
}

/** A long press picks the block up instead of opening the context menu. */
export function onContextMenu(event) {
  if (state.drag && state.drag.touch) event.preventDefault();
}
