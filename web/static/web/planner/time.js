/* Times in the planner's zone (the visit's, or the room's venue's, or the person's): wall-clock
 * minutes of a day to ISO instants and back through Intl, so days with a DST change are right. */

import { state } from "./state.js";

export function pad(n) {
  return (n < 10 ? "0" : "") + n;
}

/** Minutes after midnight as "HH:MM"; the end of a day stays "24:00", past midnight wraps. */
export function hhmm(minutesOfDay) {
  if (minutesOfDay === 1440) return "24:00";
  const m = ((minutesOfDay % 1440) + 1440) % 1440;
  return pad(Math.floor(m / 60)) + ":" + pad(m % 60);
}

const formats = {}; // zone -> Intl.DateTimeFormat: building one is slow, and a page uses one zone

function zoneParts(ms) {
  const zone = state.config ? state.config.timezone : "UTC";
  if (!formats[zone]) {
    formats[zone] = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hourCycle: "h23",
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"
    });
  }
  const out = {};
  formats[zone].formatToParts(new Date(ms)).forEach((p) => { out[p.type] = p.value; });
  return {
    year: +out.year, month: +out.month, day: +out.day, hour: +out.hour % 24, minute: +out.minute, second: +out.second
  };
}

/** The zone's offset from UTC at an instant, in ms (local wall time minus UTC). */
function zoneOffset(ms) {
  const p = zoneParts(ms);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

/** A wall-clock time in the planner's zone ("2026-12-14", minutes after midnight) as an ISO instant. */
export function localToIso(day, minutes) {
  const d = day.split("-");
  const guess = Date.UTC(+d[0], +d[1] - 1, +d[2], 0, 0) + minutes * 60000;
  const instant = guess - zoneOffset(guess);
  const second = guess - zoneOffset(instant);
  return new Date(second).toISOString();
}

/** An ISO instant as {day, minutes} in the planner's zone. */
export function isoToLocal(iso) {
  const p = zoneParts(Date.parse(iso));
  return { day: p.year + "-" + pad(p.month) + "-" + pad(p.day), minutes: p.hour * 60 + p.minute };
}

/** Minutes from midnight of ``day`` (in the planner's zone) to an ISO instant; past midnight gives > 1440. */
export function minutesFrom(day, iso) {
  const local = isoToLocal(iso);
  const d = day.split("-"), e = local.day.split("-");
  const days = Math.round((Date.UTC(+e[0], +e[1] - 1, +e[2]) - Date.UTC(+d[0], +d[1] - 1, +d[2])) / 86400000);
  return days * 1440 + local.minutes;
}

export function overlaps(aStart, aEnd, bStart, bEnd) {
  return aStart < bEnd && bStart < aEnd;
}
