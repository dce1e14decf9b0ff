/* The keyboard: on a focused block the arrow keys move it (up/down by 15 minutes, left/right to the
 * next room's lane) or, with Shift, resize it; Enter saves the pending change (or, with none, opens
 * the side panel), Escape puts it back, Space opens the panel. Ctrl/Cmd+Z undoes the last save. */

import { abandon, blockOf, change, isPending } from "./blocks.js";
import { roomLanes } from "./grid.js";
import { saveMove } from "./moves.js";
import { openFor } from "./panel.js";
import { SLOT, state } from "./state.js";
import { canUndo, runUndo } from "./undo.js";

function nextRoomLane(block, step) {
  const lanes = roomLanes(block.grid);
  if (!lanes.length) return block.lane;
  const at = lanes.indexOf(block.lane);
  if (at < 0) return step > 0 ? lanes[0] : lanes[lanes.length - 1];
  const next = at + step;
  return next < 0 || next >= lanes.length ? block.lane : lanes[next];
}

function onBlockKey(event, block) {
  const key = event.key;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  if (block.saving && key !== "Tab") { event.preventDefault(); return; } // wait for the answer
  if (key === "ArrowDown" || key === "ArrowUp") {
    const step = key === "ArrowDown" ? SLOT : -SLOT;
    if (event.shiftKey) change(block, block.start, block.end + step, block.lane);
    else change(block, block.start + step, block.end + step, block.lane);
  } else if (key === "ArrowRight" || key === "ArrowLeft") {
    if (event.shiftKey) return;
    change(block, block.start, block.end, nextRoomLane(block, key === "ArrowRight" ? 1 : -1));
  } else if (key === "Enter") {
    if (isPending(block)) saveMove(block).then(() => { block.el.focus(); });
    else openFor(block);
  } else if (key === "Escape") {
    if (!isPending(block)) return;
    abandon(block, true);
  } else {
    return;
  }
  event.preventDefault();
}

export function onKeyDown(event) {
  const typing = event.target.closest && event.target.closest("input, select, textarea");
  if (!typing && (event.ctrlKey || event.metaKey) && !event.shiftKey && !event.altKey &&
      event.key.toLowerCase() === "z" && canUndo()) {
    event.preventDefault();
    runUndo();
    return;
  }
  const block = blockOf(event.target);
  if (block && state.config.editable) onBlockKey(event, block);
}

/** Space on a block opens its details (Enter is handled on keydown). */
export function onKeyUp(event) {
  const block = blockOf(event.target);
  if (block && event.key === " " && state.config.editable && !isPending(block)) openFor(block);
}
