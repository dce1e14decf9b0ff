/* The day grids: reading the server's layout (a lane per room or location, a row per quarter hour),
 * placing items on it through the CSSOM (no style attributes: strict CSP), finding lanes, rooms and
 * people, and turning a pointer's position into a time and a lane. */

import { SLOT, state } from "./state.js";
import { t } from "./text.js";

/** A grid as the server rendered it: its day, first minute, length and lanes; its marks placed. */
export function readGrid(node) {
  const grid = {
    el: node,
    day: node.dataset.day,
    origin: +node.dataset.origin,
    minutes: +node.dataset.minutes,
    lanes: []
  };
  node.querySelectorAll("[data-lane-head]").forEach((head) => {
    grid.lanes.push({
      index: +head.dataset.laneHead,
      room: head.dataset.room ? +head.dataset.room : null,
      label: head.textContent.trim(),
      head: head
    });
  });
  node.style.setProperty("--lanes", String(Math.max(1, grid.lanes.length)));
  node.style.setProperty("--rows", String(grid.minutes / SLOT));
  node.querySelector(".tl-corner").style.gridColumn = "1";
  grid.lanes.forEach((lane) => { lane.head.style.gridColumn = String(lane.index + 2); });
  node.querySelectorAll(".tl-hour, .tl-hour-line").forEach((mark) => {
    const row = 2 + (+mark.dataset.offset) / SLOT;
    if (mark.classList.contains("tl-hour")) {
      mark.style.gridColumn = "1";
      mark.style.gridRow = row + " / span 4";
    } else {
      mark.style.gridColumn = "2 / -1";
      mark.style.gridRow = String(row);
    }
  });
  node.querySelectorAll(".lane-bg").forEach((bg) => {
    bg.style.gridColumn = String(+bg.dataset.lane + 2);
    bg.style.gridRow = "2 / -1";
  });
  return grid;
}

/** Put an item on a grid: lane index (or "all" lanes), minutes of day [start, end). */
export function place(node, grid, lane, start, end) {
  const first = Math.max(0, Math.floor((start - grid.origin) / SLOT));
  const last = Math.min(grid.minutes / SLOT, Math.max(first + 1, Math.ceil((end - grid.origin) / SLOT)));
  node.style.gridColumn = lane === "all" ? "2 / -1" : String(lane + 2);
  node.style.gridRow = (first + 2) + " / " + (last + 2);
}

export function gridForDay(day) {
  return state.grids.find((grid) => grid.day === day) || null;
}

export function gridOf(node) {
  return state.grids.find((grid) => grid.el.contains(node)) || null;
}

export function roomLanes(grid) {
  return grid.lanes.filter((lane) => lane.room !== null);
}

/** The lane of a room, or without one the lane of its free-text location ("No room" when empty). */
export function laneForRoom(grid, room, location) {
  if (room) {
    const lane = grid.lanes.find((l) => l.room === room);
    if (lane) return lane;
    return null;
  }
  return grid.lanes.find((l) => l.room === null && l.label === (location || t("no_room"))) || null;
}

export function roomName(id) {
  if (!id) return t("no_room");
  const rooms = (state.config && state.config.rooms) || [];
  const room = rooms.find((r) => r.id === id);
  return room ? room.name : "#" + id;
}

export function personName(id) {
  const people = (state.config && state.config.people) || [];
  const person = people.find((p) => p.id === id);
  return person ? person.name : "#" + id;
}

/** Learn a name the API mentioned, so clash and busy sentences can say it. */
export function rememberPerson(id, name) {
  const people = state.config.people;
  if (!people.some((p) => p.id === id)) people.push({ id: id, name: name });
}

/** The top of the grid's first row and the height of one row, in viewport pixels. */
export function slotHeight(grid) {
  const rows = grid.minutes / SLOT;
  const head = grid.lanes.length ? grid.lanes[0].head.getBoundingClientRect() : grid.el.getBoundingClientRect();
  const rect = grid.el.getBoundingClientRect();
  return { top: head.bottom, height: (rect.bottom - head.bottom) / rows };
}

/** The start of the row under a pointer's y, kept inside the grid. */
export function minuteAt(grid, clientY) {
  const m = slotHeight(grid);
  let slot = Math.floor((clientY - m.top) / m.height);
  slot = Math.max(0, Math.min(grid.minutes / SLOT - 1, slot));
  return grid.origin + slot * SLOT;
}

/** The lane under a pointer's x, or null outside every lane. */
export function laneAt(grid, clientX) {
  return grid.lanes.find((lane) => {
    const r = lane.head.getBoundingClientRect();
    return clientX >= r.left && clientX < r.right;
  }) || null;
}
