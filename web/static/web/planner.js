/* The coordinator's planner (/staff/visits/<id>/, a room's day, a person's day): the entry module.
 *
 * The page is rendered by the server; the modules in planner/ place the blocks on the day grids and,
 * for coordinators, turn them into an editor. Every change is a call to the REST API
 * (/api/v1/meetings/) with the session cookie, the CSRF token and If-Match: the same services, the
 * same 409s and the same stale-edit rule (412) as any API client. Nothing is decided here that the
 * server does not decide again; clashes shown while moving are a preview.
 *
 * This file reads the page's settings, lays out the grids and wires the document's events to the
 * modules. Native ES modules: no framework, no build step, no inline script or style (strict CSP).
 */

import { anyPending, blockOf, draw, readBlock, selectBlock } from "./planner/blocks.js";
import { busyReasons } from "./planner/busy.js";
import { gridForDay, place, readGrid, roomLanes } from "./planner/grid.js";
import { onKeyDown, onKeyUp } from "./planner/keyboard.js";
import { initPanel, openFor, openNew } from "./planner/panel.js";
import {
  onContextMenu, onPointerCancel, onPointerDown, onPointerMove, onPointerUp, onTouchMove
} from "./planner/pointer.js";
import { acceptProposal, createProposal, hideProposal, initProposals } from "./planner/proposals.js";
import { state } from "./planner/state.js";
import { fmt } from "./planner/text.js";
import { hhmm, isoToLocal, localToIso } from "./planner/time.js";
import { initUndo, runUndo } from "./planner/undo.js";

function readJson(id) {
  const node = document.getElementById(id);
  if (!node) return null;
  try { return JSON.parse(node.textContent); } catch (e) { return null; }
}

/** Clicks on a block open its details; the toolbar's and the proposal bar's buttons do what they say. */
function onClick(event) {
  const block = blockOf(event.target);
  if (block) {
    event.preventDefault();
    if (state.suppressClick) return;
    if (event.detail === 0) return; // Enter/Space: handled by the keyboard module
    if (state.config.editable) openFor(block);
    return;
  }
  const button = event.target.closest("button");
  if (!button) return;
  if (button.hasAttribute("data-undo")) runUndo();
  else if (button.hasAttribute("data-new-meeting")) {
    const grid = gridForDay(button.dataset.day);
    const lanes = grid ? roomLanes(grid) : [];
    openNew(button.dataset.day, 9 * 60, 10 * 60, lanes.length ? lanes[0].room : null, null);
  } else if (button.hasAttribute("data-propose")) createProposal();
  else if (button.hasAttribute("data-accept-all")) acceptProposal(null);
  else if (button.hasAttribute("data-accept-item")) acceptProposal([+button.dataset.acceptItem]);
  else if (button.hasAttribute("data-discard-proposal")) hideProposal();
}

function start() {
  state.config = readJson("planner-config");
  state.texts = readJson("planner-texts") || {};
  document.querySelectorAll("[data-planner-grid]").forEach((node) => {
    const grid = readGrid(node);
    state.grids.push(grid);
    // times people proposed instead (iTIP COUNTER), shaded in their meeting's lane; never in the way of a drag
    node.querySelectorAll(".tl-counter").forEach((shade) => {
      place(shade, grid, +shade.dataset.lane, grid.origin + (+shade.dataset.start), grid.origin + (+shade.dataset.end));
    });
    node.querySelectorAll(".tl-block").forEach((blockNode) => {
      const block = readBlock(blockNode, grid);
      draw(block);
      if (blockNode.tagName === "BUTTON") state.blocks[block.id] = block;
    });
  });
  if (!state.config) return; // a host's read-only view: layout only
  state.config.people = state.config.people || [];
  state.statusEl = document.getElementById("planner-status");
  initUndo(document.querySelector("[data-undo]"));
  initPanel();
  initProposals();

  document.addEventListener("keydown", onKeyDown);
  document.addEventListener("keyup", onKeyUp);
  document.addEventListener("focusin", (event) => {
    const block = blockOf(event.target);
    if (block) selectBlock(block);
  });
  document.addEventListener("click", onClick);
  document.addEventListener("pointerdown", onPointerDown);
  document.addEventListener("pointermove", onPointerMove);
  document.addEventListener("pointerup", onPointerUp);
  document.addEventListener("pointercancel", onPointerCancel);
  // leaving with a moved-but-unsaved meeting asks first
  window.addEventListener("beforeunload", (event) => {
    if (anyPending()) { event.preventDefault(); event.returnValue = ""; }
  });
  document.addEventListener("touchmove", onTouchMove, { passive: false });
  document.addEventListener("contextmenu", onContextMenu);
}

// A small surface for tests and the console; the planner itself does not use it.
window.VisitdeskPlanner = {
  localToIso: localToIso, isoToLocal: isoToLocal, hhmm: hhmm, fmt: fmt,
  busyReasons: (id) => {
    const b = state.blocks[id];
    return b ? busyReasons(b, b.lane && b.lane.room, b.start, b.end) : [];
  },
  busyLoaded: () => (state.busy.loaded ? state.busy.loaded.block.id : null)
};

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
