/* Busy times of a selected meeting's people and of every room on its day, from
 * GET /api/v1/availability/busy/ (the meeting itself excluded): shaded on the grid, and the reasons
 * a new position would clash with them. A preview only; the server decides on save. */

import { api } from "./api.js";
import { personName, place, roomLanes, roomName } from "./grid.js";
import { state } from "./state.js";
import { el, t } from "./text.js";
import { hhmm, isoToLocal, localToIso, overlaps } from "./time.js";

function busyUrl(block) {
  const grid = block.grid;
  const rooms = roomLanes(grid).map((lane) => lane.room);
  const params = [
    "people=" + block.people.join(","),
    "rooms=" + rooms.join(","),
    "start=" + encodeURIComponent(localToIso(grid.day, 0)),
    "end=" + encodeURIComponent(localToIso(grid.day, 1440)),
    "exclude_meetings=" + block.id
  ];
  return state.config.urls.busy + "?" + params.join("&");
}

/** Intervals from the API as [start, end] minutes of the grid's day, clipped to the day. */
function toMinutes(grid, intervals) {
  return (intervals || []).map((iv) => {
    const s = isoToLocal(iv.starts_at), e = isoToLocal(iv.ends_at);
    const start = s.day < grid.day ? 0 : (s.day > grid.day ? 1440 : s.minutes);
    const end = e.day > grid.day ? 1440 : (e.day < grid.day ? 0 : e.minutes);
    return [start, end];
  }).filter((iv) => iv[1] > iv[0]);
}

/** Load and shade a block's busy times. Resolves to true when new ones arrived for it. */
export function loadBusy(block) {
  const busy = state.busy;
  if (!busy.enabled || !state.config.urls.busy || block.status !== "scheduled") return Promise.resolve(false);
  if (busy.loaded && busy.loaded.block === block) { paintBusy(); return Promise.resolve(false); }
  clearBusy();
  const requested = block;
  busy.pending = requested;
  return api("GET", busyUrl(block)).then((result) => {
    if (busy.pending !== requested) return false; // another block was selected meanwhile
    if (result.status === 404) { busy.enabled = false; return false; } // availability not installed
    if (result.status !== 200 || !result.data) return false;
    const grid = requested.grid, people = {}, rooms = {};
    Object.keys(result.data.people || {}).forEach((id) => { people[id] = toMinutes(grid, result.data.people[id]); });
    Object.keys(result.data.rooms || {}).forEach((id) => { rooms[id] = toMinutes(grid, result.data.rooms[id]); });
    busy.loaded = { block: requested, people: people, rooms: rooms };
    paintBusy();
    return true;
  });
}

/** Grey over a room's lane, amber across the day for a person. */
export function paintBusy() {
  const loaded = state.busy.loaded;
  if (!loaded) return;
  const grid = loaded.block.grid;
  grid.el.querySelectorAll(".tl-busy").forEach((n) => n.remove());
  roomLanes(grid).forEach((lane) => {
    (loaded.rooms[lane.room] || []).forEach((iv) => {
      const node = el("div", "tl-busy room");
      node.setAttribute("aria-hidden", "true");
      node.title = t("busy_room_label");
      place(node, grid, lane.index, iv[0], iv[1]);
      grid.el.appendChild(node);
    });
  });
  Object.keys(loaded.people).forEach((id) => {
    loaded.people[id].forEach((iv) => {
      const node = el("div", "tl-busy person", t("busy_person_label", { person: personName(+id) }));
      node.setAttribute("aria-hidden", "true");
      place(node, grid, "all", iv[0], iv[1]);
      grid.el.appendChild(node);
    });
  });
}

export function clearBusy() {
  state.busy.loaded = null;
  document.querySelectorAll(".tl-busy").forEach((n) => n.remove());
}

/** Forget a block's busy times once the block changed on the server (its people may have). */
export function forgetBusy(block) {
  if (state.busy.loaded && state.busy.loaded.block === block) state.busy.loaded = null;
}

/** Why [start, end) in ``room`` is busy for this block's blocking people or the room. */
export function busyReasons(block, room, start, end) {
  const loaded = state.busy.loaded, out = [];
  if (!loaded || loaded.block !== block) return out;
  if (room) {
    (loaded.rooms[room] || []).forEach((iv) => {
      if (overlaps(start, end, iv[0], iv[1])) {
        out.push(t("busy_room", { room: roomName(room), start: hhmm(iv[0]), end: hhmm(iv[1]) }));
      }
    });
  }
  block.blocking.forEach((person) => {
    (loaded.people[person] || []).forEach((iv) => {
      if (overlaps(start, end, iv[0], iv[1])) {
        out.push(t("busy_person", { person: personName(person), start: hhmm(iv[0]), end: hhmm(iv[1]) }));
      }
    });
  });
  return out;
}
