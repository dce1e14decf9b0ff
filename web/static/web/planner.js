/* The coordinator's planner on a visit's staff page (/staff/visits/<id>/).
 *
 * The page is rendered by the server; this script places the blocks on the day grids and, for
 * coordinators, turns them into an editor. Every change is a call to the REST API
 * (/api/v1/meetings/) with the session cookie, the CSRF token and If-Match: the same services,
 * the same 409s and the same stale-edit rule (412) as any API client. Nothing is decided here that
 * the server does not decide again; clashes shown while moving are a preview.
 *
 * Parts, top to bottom: time and text helpers · layout · api · clashes · busy (shading from
 * /api/v1/availability/busy/) · blocks (move, resize, save) · keyboard · pointer · panel ·
 * undo · proposals · start-up. No framework, no build step, no inline script or style.
 */
(function () {
  "use strict";

  var SLOT = 15;
  var config = null;
  var texts = {};
  var grids = [];
  var blocks = {}; // meeting id -> block state
  var statusEl = null;

  // --- time and text ------------------------------------------------------------------------

  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (_, key) {
      return values && values[key] !== undefined && values[key] !== null ? String(values[key]) : "";
    });
  }

  function t(key, values) {
    return fmt(texts[key] || key, values);
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function hhmm(minutesOfDay) {
    if (minutesOfDay === 1440) return "24:00";
    var m = ((minutesOfDay % 1440) + 1440) % 1440;
    return pad(Math.floor(m / 60)) + ":" + pad(m % 60);
  }

  var partsFormat = null;
  function zoneParts(ms) {
    if (!partsFormat) {
      partsFormat = new Intl.DateTimeFormat("en-GB", {
        timeZone: config ? config.timezone : "UTC", hourCycle: "h23",
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"
      });
    }
    var out = {};
    partsFormat.formatToParts(new Date(ms)).forEach(function (p) { out[p.type] = p.value; });
    return {
      year: +out.year, month: +out.month, day: +out.day, hour: +out.hour % 24, minute: +out.minute, second: +out.second
    };
  }

  /** The zone's offset from UTC at an instant, in ms (local wall time minus UTC). */
  function zoneOffset(ms) {
    var p = zoneParts(ms);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
  }

  /** A wall-clock time in the visit's zone ("2026-12-14", minutes after midnight) as an ISO instant. */
  function localToIso(day, minutes) {
    var d = day.split("-");
    var guess = Date.UTC(+d[0], +d[1] - 1, +d[2], 0, 0) + minutes * 60000;
    var instant = guess - zoneOffset(guess);
    var second = guess - zoneOffset(instant);
    return new Date(second).toISOString();
  }

  /** An ISO instant as {day, minutes} in the visit's zone. */
  function isoToLocal(iso) {
    var p = zoneParts(Date.parse(iso));
    return { day: p.year + "-" + pad(p.month) + "-" + pad(p.day), minutes: p.hour * 60 + p.minute };
  }

  /** Minutes from midnight of ``day`` (in the visit's zone) to an ISO instant; past midnight gives > 1440. */
  function minutesFrom(day, iso) {
    var local = isoToLocal(iso);
    var d = day.split("-"), e = local.day.split("-");
    var days = Math.round((Date.UTC(+e[0], +e[1] - 1, +e[2]) - Date.UTC(+d[0], +d[1] - 1, +d[2])) / 86400000);
    return days * 1440 + local.minutes;
  }

  function overlaps(aStart, aEnd, bStart, bEnd) {
    return aStart < bEnd && bStart < aEnd;
  }

  function announce(message, isError) {
    if (!statusEl) return;
    statusEl.classList.toggle("error", !!isError);
    statusEl.textContent = "";
    window.requestAnimationFrame(function () { statusEl.textContent = message; });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // --- layout ---------------------------------------------------------------------------------

  function readGrid(node) {
    var grid = {
      el: node,
      day: node.dataset.day,
      origin: +node.dataset.origin,
      minutes: +node.dataset.minutes,
      lanes: []
    };
    node.querySelectorAll("[data-lane-head]").forEach(function (head) {
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
    grid.lanes.forEach(function (lane) { lane.head.style.gridColumn = String(lane.index + 2); });
    node.querySelectorAll(".tl-hour, .tl-hour-line").forEach(function (mark) {
      var row = 2 + (+mark.dataset.offset) / SLOT;
      if (mark.classList.contains("tl-hour")) {
        mark.style.gridColumn = "1";
        mark.style.gridRow = row + " / span 4";
      } else {
        mark.style.gridColumn = "2 / -1";
        mark.style.gridRow = String(row);
      }
    });
    node.querySelectorAll(".lane-bg").forEach(function (bg) {
      bg.style.gridColumn = String(+bg.dataset.lane + 2);
      bg.style.gridRow = "2 / -1";
    });
    return grid;
  }

  /** Put an item on a grid: lane index, minutes of day [start, end). */
  function place(node, grid, lane, start, end) {
    var first = Math.max(0, Math.floor((start - grid.origin) / SLOT));
    var last = Math.min(grid.minutes / SLOT, Math.max(first + 1, Math.ceil((end - grid.origin) / SLOT)));
    node.style.gridColumn = lane === "all" ? "2 / -1" : String(lane + 2);
    node.style.gridRow = (first + 2) + " / " + (last + 2);
  }

  function gridForDay(day) {
    for (var i = 0; i < grids.length; i++) if (grids[i].day === day) return grids[i];
    return null;
  }

  function roomLanes(grid) {
    return grid.lanes.filter(function (lane) { return lane.room !== null; });
  }

  function laneForRoom(grid, room, location) {
    var i;
    for (i = 0; i < grid.lanes.length; i++) if (room && grid.lanes[i].room === room) return grid.lanes[i];
    for (i = 0; i < grid.lanes.length; i++) {
      var lane = grid.lanes[i];
      if (!room && lane.room === null && lane.label === (location || t("no_room"))) return lane;
    }
    return null;
  }

  function roomName(id) {
    if (!id) return t("no_room");
    var rooms = (config && config.rooms) || [];
    for (var i = 0; i < rooms.length; i++) if (rooms[i].id === id) return rooms[i].name;
    return "#" + id;
  }

  function personName(id) {
    var people = (config && config.people) || [];
    for (var i = 0; i < people.length; i++) if (people[i].id === id) return people[i].name;
    return "#" + id;
  }

  // --- api ------------------------------------------------------------------------------------

  function csrfToken() {
    var input = document.querySelector("#planner-form input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function versionOf(etag) {
    return etag ? etag.replace(/^W\//, "").replace(/"/g, "") : null;
  }

  /** One API call; resolves to {status, data, version} and never rejects (status 0: no network). */
  function api(method, url, body, version) {
    var headers = { "Accept": "application/json", "X-CSRFToken": csrfToken() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (version) headers["If-Match"] = "\"" + version + "\"";
    return fetch(url, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.text().then(function (raw) {
        var data = null;
        try { data = raw ? JSON.parse(raw) : null; } catch (e) { data = null; }
        return { status: response.status, data: data, version: versionOf(response.headers.get("ETag")) };
      });
    }, function () {
      return { status: 0, data: null, version: null };
    });
  }

  function errorMessage(result) {
    if (result.status === 0) return t("network");
    var error = result.data && result.data.error;
    if (!error) return "HTTP " + result.status;
    var parts = [error.message];
    if (error.fields) {
      Object.keys(error.fields).forEach(function (name) {
        var value = error.fields[name];
        parts.push(name + ": " + (Array.isArray(value) ? value.map(function (v) {
          return typeof v === "string" ? v : JSON.stringify(v);
        }).join(" ") : JSON.stringify(value)));
      });
    }
    return parts.join(" ");
  }

  function meetingUrl(id, action) {
    return config.urls.meetings + id + "/" + (action ? action + "/" : "");
  }

  // --- clashes (a preview; the server decides) -----------------------------------------------

  function clashReasons(block, lane, start, end) {
    var reasons = [];
    var grid = block.grid;
    var room = lane ? lane.room : null;
    Object.keys(blocks).forEach(function (key) {
      var other = blocks[key];
      if (other === block || other.grid !== grid || other.status !== "scheduled") return;
      if (!overlaps(start, end, other.start, other.end)) return;
      if (room && other.room === room) reasons.push(t("clash_room", { room: roomName(room), other: other.title }));
      block.blocking.forEach(function (person) {
        if (other.blocking.indexOf(person) >= 0) {
          reasons.push(t("clash_person", { person: personName(person), other: other.title }));
        }
      });
    });
    return reasons.concat(Busy.reasons(block, room, start, end));
  }

  // --- busy: shading from the availability API (issue 12) -------------------------------------

  var Busy = {
    enabled: true,
    loaded: null, // {block, people: {id: [[start, end]]}, rooms: {...}} in minutes of the grid's day

    url: function (block) {
      var grid = block.grid;
      var rooms = roomLanes(grid).map(function (lane) { return lane.room; });
      var params = [
        "people=" + block.people.join(","),
        "rooms=" + rooms.join(","),
        "start=" + encodeURIComponent(localToIso(grid.day, 0)),
        "end=" + encodeURIComponent(localToIso(grid.day, 1440)),
        "exclude_meetings=" + block.id
      ];
      return config.urls.busy + "?" + params.join("&");
    },

    /** Intervals from the API as [start, end] minutes of the grid's day, clipped to the day. */
    toMinutes: function (grid, intervals) {
      return (intervals || []).map(function (iv) {
        var s = isoToLocal(iv.starts_at), e = isoToLocal(iv.ends_at);
        var start = s.day < grid.day ? 0 : (s.day > grid.day ? 1440 : s.minutes);
        var end = e.day > grid.day ? 1440 : (e.day < grid.day ? 0 : e.minutes);
        return [start, end];
      }).filter(function (iv) { return iv[1] > iv[0]; });
    },

    load: function (block) {
      if (!Busy.enabled || !config.urls.busy || block.status !== "scheduled") return;
      if (Busy.loaded && Busy.loaded.block === block) { Busy.paint(); return; }
      Busy.clear();
      var requested = block;
      Busy.pending = requested;
      api("GET", Busy.url(block)).then(function (result) {
        if (Busy.pending !== requested) return; // another block was selected meanwhile
        if (result.status === 404) { Busy.enabled = false; return; } // availability not installed
        if (result.status !== 200 || !result.data) return;
        var grid = requested.grid, people = {}, rooms = {};
        Object.keys(result.data.people || {}).forEach(function (id) {
          people[id] = Busy.toMinutes(grid, result.data.people[id]);
        });
        Object.keys(result.data.rooms || {}).forEach(function (id) {
          rooms[id] = Busy.toMinutes(grid, result.data.rooms[id]);
        });
        Busy.loaded = { block: requested, people: people, rooms: rooms };
        Busy.paint();
        if (document.activeElement === requested.el) refreshClash(requested, false);
      });
    },

    paint: function () {
      var loaded = Busy.loaded;
      if (!loaded) return;
      var grid = loaded.block.grid;
      grid.el.querySelectorAll(".tl-busy").forEach(function (n) { n.remove(); });
      roomLanes(grid).forEach(function (lane) {
        (loaded.rooms[lane.room] || []).forEach(function (iv) {
          var node = el("div", "tl-busy room");
          node.setAttribute("aria-hidden", "true");
          node.title = t("busy_room_label");
          place(node, grid, lane.index, iv[0], iv[1]);
          grid.el.appendChild(node);
        });
      });
      Object.keys(loaded.people).forEach(function (id) {
        loaded.people[id].forEach(function (iv) {
          var node = el("div", "tl-busy person", t("busy_person_label", { person: personName(+id) }));
          node.setAttribute("aria-hidden", "true");
          place(node, grid, "all", iv[0], iv[1]);
          grid.el.appendChild(node);
        });
      });
    },

    clear: function () {
      Busy.loaded = null;
      document.querySelectorAll(".tl-busy").forEach(function (n) { n.remove(); });
    },

    /** Why [start, end) in ``room`` is busy for this block's blocking people or the room. */
    reasons: function (block, room, start, end) {
      var loaded = Busy.loaded, out = [];
      if (!loaded || loaded.block !== block) return out;
      if (room) {
        (loaded.rooms[room] || []).forEach(function (iv) {
          if (overlaps(start, end, iv[0], iv[1])) {
            out.push(t("busy_room", { room: roomName(room), start: hhmm(iv[0]), end: hhmm(iv[1]) }));
          }
        });
      }
      block.blocking.forEach(function (person) {
        (loaded.people[person] || []).forEach(function (iv) {
          if (overlaps(start, end, iv[0], iv[1])) {
            out.push(t("busy_person", { person: personName(person), start: hhmm(iv[0]), end: hhmm(iv[1]) }));
          }
        });
      });
      return out;
    }
  };

  // --- blocks ---------------------------------------------------------------------------------

  function ids(text) {
    return (text || "").split(",").filter(Boolean).map(Number);
  }

  function readBlock(node, grid) {
    var lane = grid.lanes[+node.dataset.lane] || null;
    var block = {
      id: +node.dataset.meeting,
      el: node,
      grid: grid,
      lane: lane,
      start: grid.origin + (+node.dataset.start),
      end: grid.origin + (+node.dataset.end),
      room: node.dataset.room ? +node.dataset.room : null,
      people: ids(node.dataset.people),
      blocking: ids(node.dataset.blocking),
      title: node.dataset.title,
      status: node.dataset.status,
      version: node.dataset.version,
      sub: +node.dataset.sub || 0
    };
    // a meeting running past midnight is clipped on the grid; keep its real length so a move keeps it
    if (config && node.dataset.startsAt && node.dataset.endsAt) {
      block.start = minutesFrom(grid.day, node.dataset.startsAt);
      block.end = minutesFrom(grid.day, node.dataset.endsAt);
    }
    block.saved = snapshot(block);
    return block;
  }

  function snapshot(block) {
    return { lane: block.lane, start: block.start, end: block.end, room: block.room };
  }

  function draw(block) {
    var laneIndex = block.lane ? block.lane.index : 0;
    place(block.el, block.grid, laneIndex, block.start, block.end);
    block.el.style.setProperty("--sub", String(block.sub || 0));
    block.el.dataset.lane = String(laneIndex);
    var time = block.el.querySelector(".tl-time");
    var text = hhmm(block.start) + "–" + hhmm(block.end);
    if (time && time.textContent !== text) time.textContent = text; // keeps the server's <time> elements until moved
  }

  function isPending(block) {
    var s = block.saved;
    return s.start !== block.start || s.end !== block.end || s.lane !== block.lane;
  }

  function describe(block) {
    var heading = block.grid.el.closest(".timeline-day").querySelector("h3");
    return t("moved", {
      title: block.title, day: heading ? heading.textContent.trim() : block.grid.day,
      start: hhmm(block.start), end: hhmm(block.end),
      room: block.lane ? block.lane.label : roomName(block.room)
    });
  }

  function refreshClash(block, speak) {
    var reasons = block.status === "scheduled" ? clashReasons(block, block.lane, block.start, block.end) : [];
    block.el.classList.toggle("clash", reasons.length > 0);
    block.el.classList.toggle("pending", isPending(block));
    if (speak) {
      var message = describe(block);
      if (reasons.length) message += " " + t("clash", { reasons: reasons.join("; ") });
      if (isPending(block)) message += " " + t("unsaved");
      announce(message, reasons.length > 0);
    }
    return reasons;
  }

  function change(block, start, end, lane) {
    if (block.status !== "scheduled") { announce(t("cannot_move_cancelled"), true); return; }
    var length = end - start;
    if (length < SLOT) return;
    var lo = block.grid.origin, hi = block.grid.origin + block.grid.minutes;
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

  function abandon(block, speak) {
    block.override = false;
    if (!isPending(block)) return;
    block.start = block.saved.start;
    block.end = block.saved.end;
    block.lane = block.saved.lane;
    draw(block);
    refreshClash(block, false);
    if (speak) announce(t("abandoned", { title: block.title, start: hhmm(block.start), end: hhmm(block.end) }));
  }

  /** Save a moved or resized block: PATCH times (and room) with If-Match. */
  function saveMove(block) {
    if (!isPending(block)) return Promise.resolve(true);
    if (block.saving) return Promise.resolve(false); // one write per block at a time
    var before = block.saved;
    var body = { starts_at: localToIso(block.grid.day, block.start), ends_at: localToIso(block.grid.day, block.end) };
    if (block.lane !== before.lane && block.lane && block.lane.room) body.room = block.lane.room;
    if (block.override) body.override_availability = true; // the coordinator pressed Enter again
    var undoBody = {
      starts_at: localToIso(block.grid.day, before.start), ends_at: localToIso(block.grid.day, before.end)
    };
    if (body.room) undoBody.room = before.room;
    block.el.classList.add("saving");
    block.saving = true;
    announce(t("saving"));
    return api("PATCH", meetingUrl(block.id), body, block.version).then(function (result) {
      block.el.classList.remove("saving");
      block.saving = false;
      if (result.status === 200) {
        var updated = applyMeeting(result.data, result.version);
        Undo.record({ kind: "update", id: block.id, body: undoBody, what: t("what_move", { title: block.title }) });
        announce(t("saved", {
          title: updated.title, start: hhmm(updated.start), end: hhmm(updated.end),
          room: updated.lane ? updated.lane.label : roomName(updated.room)
        }));
        return true;
      }
      return refused(block, result);
    });
  }

  /** A refused write: 412 reloads the meeting; anything else puts the block back and says why. */
  function refused(block, result) {
    var code = result.data && result.data.error && result.data.error.code;
    if (result.status === 409 && code === "availability_conflict" && config.editable) {
      // someone is absent or a room closed: a coordinator may book anyway, but only on purpose
      block.override = true;
      announce(t("refused_override", { message: errorMessage(result) }), true);
      return false;
    }
    if (result.status === 412) {
      return reload(block).then(function () { announce(t("stale", { title: block.title }), true); return false; });
    }
    abandon(block, false);
    if (result.status === 404 || result.status === 403) announce(t("gone"), true);
    else announce(t("refused", { message: errorMessage(result) }), true);
    return false;
  }

  function reload(block) {
    return api("GET", meetingUrl(block.id)).then(function (result) {
      if (result.status === 200) applyMeeting(result.data, result.version);
      else abandon(block, false);
    });
  }

  /** Draw a meeting from its API representation: update its block (or make one), return the block. */
  function applyMeeting(data, version) {
    var starts = isoToLocal(data.starts_at), ends = isoToLocal(data.ends_at);
    var grid = gridForDay(starts.day);
    var block = blocks[data.id];
    if (!grid) { // moved to a day this page does not show
      if (block) { block.el.remove(); delete blocks[data.id]; }
      return { title: data.title, start: starts.minutes, end: ends.minutes, room: data.room, lane: null };
    }
    if (!block) {
      var node = el("button", "tl-block");
      node.type = "button";
      node.setAttribute("data-testid", "timeline-block");
      node.setAttribute("aria-describedby", "planner-help");
      node.id = "block-" + data.id;
      grid.el.appendChild(node);
      block = { id: data.id, el: node, sub: 0 };
      blocks[data.id] = block;
    } else if (block.grid !== grid) {
      grid.el.appendChild(block.el);
    }
    var participants = data.participants || [];
    block.grid = grid;
    block.title = data.title;
    block.status = data.status;
    block.room = data.room;
    block.start = starts.minutes;
    block.end = Math.max(minutesFrom(starts.day, data.ends_at), starts.minutes + SLOT);
    block.lane = laneForRoom(grid, data.room, data.location) || block.lane || grid.lanes[0] || null;
    block.people = participants.map(function (p) { return p.person; });
    block.blocking = participants.filter(function (p) { return p.role !== "guest"; }).map(function (p) { return p.person; });
    block.version = version || block.version;
    block.sub = data.status === "cancelled" ? 1 : 0; // a cancelled meeting steps aside for a live one
    block.saved = snapshot(block);
    participants.forEach(function (p) { rememberPerson(p.person, p.name); });
    fillBlock(block, data, participants);
    draw(block);
    block.el.classList.remove("conflict");
    refreshClash(block, false);
    if (Busy.loaded && Busy.loaded.block === block) Busy.loaded = null;
    return block;
  }

  function rememberPerson(id, name) {
    if (!config.people.some(function (p) { return p.id === id; })) config.people.push({ id: id, name: name });
  }

  function fillBlock(block, data, participants) {
    var node = block.el;
    node.className = "tl-block kind-" + data.kind + (data.status === "cancelled" ? " cancelled" : "");
    node.dataset.meeting = String(data.id);
    node.dataset.title = data.title;
    node.dataset.status = data.status;
    node.dataset.room = data.room ? String(data.room) : "";
    node.dataset.version = block.version || "";
    node.textContent = "";
    node.appendChild(el("span", "tl-title", data.title));
    node.appendChild(el("span", "tl-time"));
    var place = data.room ? roomName(data.room) : data.location;
    if (place) node.appendChild(el("span", "visually-hidden", ", " + place));
    var hosts = participants.filter(function (p) { return p.role !== "guest"; }).map(function (p) { return p.name; });
    if (hosts.length) node.appendChild(el("span", "tl-hosts", hosts.join(", ")));
    if (data.status === "cancelled") node.appendChild(el("span", "tl-flag", texts.cancelled_flag || "✕"));
    var handle = el("span", "tl-resize");
    handle.setAttribute("aria-hidden", "true");
    node.appendChild(handle);
  }

  function blockOf(node) {
    var button = node && node.closest ? node.closest("button.tl-block") : null;
    return button ? blocks[+button.dataset.meeting] : null;
  }

  // --- keyboard -------------------------------------------------------------------------------

  function nextRoomLane(block, step) {
    var lanes = roomLanes(block.grid);
    if (!lanes.length) return block.lane;
    var at = lanes.indexOf(block.lane);
    if (at < 0) return step > 0 ? lanes[0] : lanes[lanes.length - 1];
    var next = at + step;
    return next < 0 || next >= lanes.length ? block.lane : lanes[next];
  }

  function onBlockKey(event, block) {
    var key = event.key;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (block.saving && key !== "Tab") { event.preventDefault(); return; } // wait for the answer
    if (key === "ArrowDown" || key === "ArrowUp") {
      var step = key === "ArrowDown" ? SLOT : -SLOT;
      if (event.shiftKey) change(block, block.start, block.end + step, block.lane);
      else change(block, block.start + step, block.end + step, block.lane);
    } else if (key === "ArrowRight" || key === "ArrowLeft") {
      if (event.shiftKey) return;
      change(block, block.start, block.end, nextRoomLane(block, key === "ArrowRight" ? 1 : -1));
    } else if (key === "Enter") {
      if (isPending(block)) saveMove(block).then(function () { block.el.focus(); });
      else Panel.openFor(block);
    } else if (key === "Escape") {
      if (!isPending(block)) return;
      abandon(block, true);
    } else {
      return;
    }
    event.preventDefault();
  }

  // --- pointer: drag to move or resize, drag over empty time to create ------------------------

  var drag = null;
  var suppressClick = false;
  // A finger must be able to scroll the timeline, so on touch a drag starts only after holding still
  // this long (as in phone calendars); a mouse drags at once.
  var HOLD_MS = 350;

  function arm(current) {
    if (drag !== current) return;
    current.armed = true;
    if (current.block) current.block.el.classList.add("dragging");
    if (navigator.vibrate) navigator.vibrate(15);
  }

  function startHold(current, event) {
    current.touch = event.pointerType === "touch";
    current.armed = !current.touch;
    if (current.touch) current.timer = window.setTimeout(function () { arm(current); }, HOLD_MS);
  }

  function slotHeight(grid) {
    var rows = grid.minutes / SLOT;
    var head = grid.lanes.length ? grid.lanes[0].head.getBoundingClientRect() : grid.el.getBoundingClientRect();
    var rect = grid.el.getBoundingClientRect();
    return { top: head.bottom, height: (rect.bottom - head.bottom) / rows };
  }

  function minuteAt(grid, clientY) {
    var m = slotHeight(grid);
    var slot = Math.floor((clientY - m.top) / m.height);
    slot = Math.max(0, Math.min(grid.minutes / SLOT - 1, slot));
    return grid.origin + slot * SLOT;
  }

  function laneAt(grid, clientX) {
    for (var i = 0; i < grid.lanes.length; i++) {
      var r = grid.lanes[i].head.getBoundingClientRect();
      if (clientX >= r.left && clientX < r.right) return grid.lanes[i];
    }
    return null;
  }

  function onPointerDown(event) {
    if (event.button !== 0 || !config.editable) return;
    var block = blockOf(event.target);
    if (block) {
      if (block.status !== "scheduled") return;
      drag = {
        kind: event.target.classList.contains("tl-resize") ? "resize" : "move", block: block,
        x: event.clientX, y: event.clientY, from: snapshot(block), moved: false, pointer: event.pointerId
      };
      startHold(drag, event);
      if (!drag.touch) block.el.setPointerCapture(event.pointerId);
      return;
    }
    var bg = event.target.closest(".lane-bg");
    if (bg && bg.dataset.room) {
      var grid = grids.filter(function (g) { return g.el.contains(bg); })[0];
      var lane = grid.lanes[+bg.dataset.lane];
      var at = minuteAt(grid, event.clientY);
      var selection = el("div", "tl-selection");
      selection.setAttribute("aria-hidden", "true");
      grid.el.appendChild(selection);
      place(selection, grid, lane.index, at, at + SLOT);
      drag = { kind: "create", grid: grid, lane: lane, anchor: at, start: at, end: at + SLOT, el: selection,
               x: event.clientX, y: event.clientY, moved: false, pointer: event.pointerId };
      startHold(drag, event);
      if (!drag.touch) {
        bg.setPointerCapture(event.pointerId);
        event.preventDefault();
      }
    }
  }

  function onPointerMove(event) {
    if (!drag || event.pointerId !== drag.pointer) return;
    var still = Math.abs(event.clientY - drag.y) < (drag.touch ? 8 : 4) && Math.abs(event.clientX - drag.x) < (drag.touch ? 8 : 4);
    if (!drag.moved && still) return;
    if (!drag.armed) { // a finger moved before the hold: it scrolls, nothing is dragged
      window.clearTimeout(drag.timer);
      if (drag.kind === "create") drag.el.remove();
      drag = null;
      return;
    }
    drag.moved = true;
    if (drag.kind === "create") {
      var at = minuteAt(drag.grid, event.clientY);
      drag.start = Math.min(drag.anchor, at);
      drag.end = Math.max(drag.anchor, at) + SLOT;
      place(drag.el, drag.grid, drag.lane.index, drag.start, drag.end);
      return;
    }
    var block = drag.block, from = drag.from;
    var slot = slotHeight(block.grid).height;
    var delta = Math.round((event.clientY - drag.y) / slot) * SLOT;
    block.el.classList.add("dragging");
    if (drag.kind === "resize") {
      change(block, from.start, Math.max(from.start + SLOT, from.end + delta), from.lane);
    } else {
      var lane = laneAt(block.grid, event.clientX);
      if (!lane || lane.room === null) lane = block.lane;
      if (lane !== block.lane || from.start + delta !== block.start) {
        change(block, from.start + delta, from.end + delta, lane);
      }
    }
  }

  function onPointerUp(event) {
    if (!drag || event.pointerId !== drag.pointer) return;
    var current = drag;
    drag = null;
    window.clearTimeout(current.timer);
    if (current.kind === "create") {
      if (!current.moved) { current.start = current.anchor; current.end = current.anchor + 60; }
      current.end = Math.min(current.end, current.grid.origin + current.grid.minutes);
      place(current.el, current.grid, current.lane.index, current.start, current.end);
      Panel.openNew(current.grid.day, current.start, current.end, current.lane.room, current.el);
      announce(t("selection", { start: hhmm(current.start), end: hhmm(current.end), room: current.lane.label }));
      return;
    }
    var block = current.block;
    block.el.classList.remove("dragging");
    if (current.touch && current.armed && !current.moved) { // held and let go: the details, as a tap
      suppressClick = true;
      window.setTimeout(function () { suppressClick = false; }, 0);
      Panel.openFor(block);
      return;
    }
    if (current.moved) {
      suppressClick = true;
      window.setTimeout(function () { suppressClick = false; }, 0);
      block.el.focus();
      saveMove(block); // a drop saves at once; the server may still refuse and the block goes back
    }
  }

  function onPointerCancel(event) {
    if (!drag || event.pointerId !== drag.pointer) return;
    window.clearTimeout(drag.timer);
    if (drag.kind === "create") drag.el.remove();
    else { drag.block.el.classList.remove("dragging"); abandon(drag.block, true); }
    drag = null;
  }

  // --- side panel -----------------------------------------------------------------------------

  var Panel = {
    node: null, form: null, state: null, returnFocus: null,

    init: function () {
      Panel.node = document.getElementById("planner-panel");
      Panel.form = document.getElementById("planner-form");
      if (!Panel.node) return;
      Panel.form.addEventListener("submit", function (event) { event.preventDefault(); Panel.save(); });
      Panel.node.addEventListener("click", function (event) {
        var target = event.target.closest("button");
        if (!target) return;
        if (target.hasAttribute("data-close-panel")) Panel.close();
        else if (target.hasAttribute("data-add-person")) Panel.addPerson();
        else if (target.hasAttribute("data-add-item")) Panel.addItem();
        else if (target.hasAttribute("data-cancel-meeting")) Panel.askCancel(true);
        else if (target.hasAttribute("data-keep-meeting")) Panel.askCancel(false);
        else if (target.hasAttribute("data-confirm-cancel")) Panel.cancelMeeting();
        else if (target.hasAttribute("data-remove-person")) Panel.removePerson(+target.dataset.removePerson);
        else if (target.hasAttribute("data-remove-item")) Panel.removeItem(+target.dataset.removeItem);
      });
      Panel.node.addEventListener("keydown", function (event) {
        if (event.key === "Escape") { event.preventDefault(); Panel.close(); }
      });
    },

    field: function (name) {
      return Panel.form.elements[name];
    },

    error: function (message) {
      var box = Panel.node.querySelector("[data-form-error]");
      box.textContent = message || "";
      box.hidden = !message;
    },

    show: function (heading) {
      Panel.node.hidden = false;
      document.body.classList.add("planner-panel-open");
      Panel.error("");
      Panel.askCancel(false);
      var h = document.getElementById("panel-heading");
      h.textContent = heading;
      Panel.field("title").focus();
    },

    openNew: function (day, start, end, room, selection) {
      Panel.close(true);
      Panel.state = {
        mode: "new", selection: selection || null,
        data: { title: "", kind: "meeting", online_url: "", participants: config.new_participants || [],
                agenda_items: [] }
      };
      Panel.returnFocus = document.activeElement;
      Panel.fill(Panel.state.data, day, start, end, room);
      Panel.node.querySelector("[data-cancel-meeting]").hidden = true;
      Panel.show(t("new_meeting"));
    },

    openFor: function (block) {
      Panel.close(true);
      Panel.returnFocus = block.el;
      Busy.load(block);
      api("GET", meetingUrl(block.id)).then(function (result) {
        if (result.status !== 200) { announce(t("gone"), true); return; }
        var updated = applyMeeting(result.data, result.version);
        Panel.state = { mode: "edit", id: block.id, data: result.data, version: result.version };
        var starts = isoToLocal(result.data.starts_at), ends = isoToLocal(result.data.ends_at);
        Panel.fill(result.data, starts.day, starts.minutes, minutesFrom(starts.day, result.data.ends_at),
                   result.data.room);
        Panel.node.querySelector("[data-cancel-meeting]").hidden = result.data.status !== "scheduled";
        Panel.show(t("edit_meeting", { title: updated.title }));
      });
    },

    fill: function (data, day, start, end, room) {
      Panel.field("title").value = data.title || "";
      Panel.field("kind").value = data.kind || "meeting";
      Panel.field("date").value = day;
      Panel.field("start").value = hhmm(start);
      Panel.field("end").value = hhmm(end === 1440 ? 0 : end);
      Panel.overnight = end >= 1440; // "ends 00:30" after "starts 22:00" then means the next day
      Panel.field("room").value = room ? String(room) : "";
      Panel.field("online_url").value = data.online_url || "";
      Panel.field("override_availability").checked = false;
      Panel.people = (data.participants || []).map(function (p) {
        return { person: p.person, name: p.name || personName(p.person), role: p.role };
      });
      Panel.items = (data.agenda_items || []).map(function (a) {
        return { title: a.title, minutes: a.minutes, topic: a.topic, presenter: a.presenter, notes: a.notes || "" };
      });
      Panel.drawPeople();
      Panel.drawItems();
    },

    drawPeople: function () {
      var list = Panel.node.querySelector("[data-participants]");
      list.textContent = "";
      Panel.people.forEach(function (p, index) {
        var li = el("li");
        var name = el("a", "person-name", p.name);
        name.href = fmt(config.urls.person_day, { id: p.person, day: Panel.field("date").value });
        name.title = t("person_day", { name: p.name });
        li.appendChild(name);
        var select = el("select");
        select.setAttribute("aria-label", t("role_of", { name: p.name }));
        config.roles.forEach(function (role) {
          var option = el("option", null, role[1]);
          option.value = role[0];
          select.appendChild(option);
        });
        select.value = p.role;
        select.addEventListener("change", function () { p.role = select.value; });
        li.appendChild(select);
        var remove = el("button", "secondary small", t("remove"));
        remove.type = "button";
        remove.setAttribute("aria-label", t("remove_person", { name: p.name }));
        remove.dataset.removePerson = String(index);
        li.appendChild(remove);
        list.appendChild(li);
      });
    },

    drawItems: function () {
      var list = Panel.node.querySelector("[data-agenda]");
      list.textContent = "";
      Panel.items.forEach(function (item, index) {
        var n = index + 1;
        var li = el("li");
        var title = el("input");
        title.type = "text";
        title.maxLength = 200;
        title.value = item.title;
        title.setAttribute("aria-label", t("agenda_title", { n: n }));
        title.addEventListener("input", function () { item.title = title.value; });
        var minutes = el("input");
        minutes.type = "number";
        minutes.min = "1";
        minutes.max = "1440";
        minutes.value = item.minutes || "";
        minutes.setAttribute("aria-label", t("agenda_minutes", { n: n }));
        minutes.addEventListener("input", function () { item.minutes = minutes.value ? +minutes.value : null; });
        var remove = el("button", "secondary small", t("remove"));
        remove.type = "button";
        remove.setAttribute("aria-label", t("remove_item", { n: n }));
        remove.dataset.removeItem = String(index);
        li.appendChild(title);
        li.appendChild(minutes);
        li.appendChild(remove);
        list.appendChild(li);
      });
    },

    addPerson: function () {
      var select = document.getElementById("pf-add-person");
      var id = +select.value;
      if (!id) { select.focus(); return; }
      var option = select.options[select.selectedIndex];
      if (!Panel.people.some(function (p) { return p.person === id; })) {
        Panel.people.push({ person: id, name: option.textContent, role: option.dataset.role || "guest" });
        Panel.drawPeople();
      }
      select.value = "";
      select.focus();
    },

    removePerson: function (index) {
      Panel.people.splice(index, 1);
      Panel.drawPeople();
      document.getElementById("pf-add-person").focus();
    },

    addItem: function () {
      Panel.items.push({ title: "", minutes: null, topic: null, presenter: null, notes: "" });
      Panel.drawItems();
      var inputs = Panel.node.querySelectorAll("[data-agenda] input[type=text]");
      inputs[inputs.length - 1].focus();
    },

    removeItem: function (index) {
      Panel.items.splice(index, 1);
      Panel.drawItems();
      Panel.node.querySelector("[data-add-item]").focus();
    },

    /** The form as an API body; null (with a message) when it cannot be sent. */
    body: function () {
      var title = Panel.field("title").value.trim();
      if (!title) { Panel.error(t("title_required")); Panel.field("title").focus(); return null; }
      var day = Panel.field("date").value;
      var start = Panel.field("start").value, end = Panel.field("end").value;
      if (!day || !start || !end) { Panel.error(t("ends_after")); return null; }
      var startMin = +start.slice(0, 2) * 60 + +start.slice(3, 5);
      var endMin = +end.slice(0, 2) * 60 + +end.slice(3, 5);
      if (endMin <= startMin && Panel.overnight) endMin += 1440;
      if (endMin <= startMin) { Panel.error(t("ends_after")); Panel.field("end").focus(); return null; }
      var room = Panel.field("room").value;
      return {
        title: title,
        kind: Panel.field("kind").value,
        starts_at: localToIso(day, startMin),
        ends_at: localToIso(day, endMin),
        room: room ? +room : null,
        online_url: Panel.field("online_url").value.trim(),
        override_availability: Panel.field("override_availability").checked,
        participants: Panel.people.map(function (p) { return { person: p.person, role: p.role }; }),
        agenda_items: Panel.items.filter(function (a) { return a.title.trim(); }).map(function (a) {
          return { title: a.title.trim(), minutes: a.minutes || null, topic: a.topic || null,
                   presenter: a.presenter || null, notes: a.notes || "" };
        })
      };
    },

    save: function () {
      var state = Panel.state;
      var body = Panel.body();
      if (!state || !body) return;
      Panel.error("");
      announce(t("saving"));
      if (state.mode === "new") {
        if (config.visit) body.visit = config.visit; // a room's or a person's day makes standalone meetings
        body.timezone = config.timezone;
        api("POST", config.urls.meetings, body).then(function (result) {
          if (result.status !== 201) { Panel.refusal(result); return; }
          var block = applyMeeting(result.data, result.version);
          Undo.record({ kind: "create", id: result.data.id, what: t("what_create", { title: result.data.title }) });
          Panel.close(true);
          if (block.el) block.el.focus();
          announce(t("created", { title: result.data.title, start: hhmm(block.start), end: hhmm(block.end),
                                  room: block.lane ? block.lane.label : roomName(block.room) }));
        });
        return;
      }
      var before = Panel.asBody(state.data);
      api("PATCH", meetingUrl(state.id), body, state.version).then(function (result) {
        if (result.status !== 200) { Panel.refusal(result); return; }
        var block = applyMeeting(result.data, result.version);
        Undo.record({ kind: "update", id: state.id, body: before, what: t("what_edit", { title: before.title }) });
        Panel.close(true);
        block.el.focus();
        announce(t("saved", { title: block.title, start: hhmm(block.start), end: hhmm(block.end),
                              room: block.lane ? block.lane.label : roomName(block.room) }));
      });
    },

    /** An API representation as the body that would write it back (for undo). */
    asBody: function (data) {
      return {
        title: data.title, kind: data.kind, starts_at: data.starts_at, ends_at: data.ends_at, room: data.room,
        timezone: data.timezone,
        location: data.location || "", online_url: data.online_url || "", description: data.description || "",
        participants: (data.participants || []).map(function (p) { return { person: p.person, role: p.role }; }),
        agenda_items: (data.agenda_items || []).map(function (a) {
          return { title: a.title, minutes: a.minutes, topic: a.topic, presenter: a.presenter, notes: a.notes || "" };
        })
      };
    },

    refusal: function (result) {
      var message = result.status === 412 ? t("stale", { title: Panel.state.data.title }) : t("refused", {
        message: errorMessage(result)
      });
      if (result.status === 412 && Panel.state.mode === "edit") {
        // keep what was typed; reload the block and the version, so a second Save is a conscious overwrite
        var state = Panel.state;
        message = t("stale_panel", { title: state.data.title });
        api("GET", meetingUrl(state.id)).then(function (fresh) {
          if (fresh.status !== 200) { Panel.error(t("gone")); return; }
          applyMeeting(fresh.data, fresh.version);
          if (Panel.state !== state) return;
          Panel.merge(state.data, fresh.data);
          state.data = fresh.data;
          state.version = fresh.version;
        });
      }
      Panel.error(message);
      announce(message, true);
      Panel.field("title").focus();
    },

    /** The form's values for a meeting as the API gave it. */
    formOf: function (data) {
      var starts = isoToLocal(data.starts_at), ends = isoToLocal(data.ends_at);
      return {
        title: data.title, kind: data.kind, date: starts.day, start: hhmm(starts.minutes),
        end: hhmm(minutesFrom(starts.day, data.ends_at) % 1440), room: data.room ? String(data.room) : "",
        online_url: data.online_url || "",
        people: JSON.stringify((data.participants || []).map(function (p) { return [p.person, p.role]; })),
        items: JSON.stringify((data.agenda_items || []).map(function (a) { return [a.title, a.minutes || null]; }))
      };
    },

    /** After a refused stale save: what the coordinator did not touch takes the other person's new value. */
    merge: function (oldData, freshData) {
      var before = Panel.formOf(oldData), after = Panel.formOf(freshData);
      ["title", "kind", "date", "start", "end", "room", "online_url"].forEach(function (name) {
        if (Panel.field(name).value === before[name]) Panel.field(name).value = after[name];
      });
      var people = JSON.stringify(Panel.people.map(function (p) { return [p.person, p.role]; }));
      var items = JSON.stringify(Panel.items.map(function (a) { return [a.title, a.minutes || null]; }));
      if (people === before.people || items === before.items) {
        var keep = { people: Panel.people, items: Panel.items };
        var day = Panel.field("date").value, start = Panel.field("start").value, end = Panel.field("end").value;
        var values = {};
        ["title", "kind", "room", "online_url"].forEach(function (n) { values[n] = Panel.field(n).value; });
        var overnight = Panel.overnight;
        Panel.fill(freshData, day, 0, 0, null);
        Panel.overnight = overnight;
        Panel.field("start").value = start;
        Panel.field("end").value = end;
        Object.keys(values).forEach(function (n) { Panel.field(n).value = values[n]; });
        if (people !== before.people) { Panel.people = keep.people; Panel.drawPeople(); }
        if (items !== before.items) { Panel.items = keep.items; Panel.drawItems(); }
      }
    },

    askCancel: function (show) {
      var box = Panel.node.querySelector("[data-cancel-confirm]");
      box.hidden = !show;
      if (show) box.querySelector("[data-confirm-cancel]").focus();
    },

    cancelMeeting: function () {
      var state = Panel.state;
      if (!state || state.mode !== "edit") return;
      var snapshotBody = Panel.asBody(state.data);
      api("POST", meetingUrl(state.id, "cancel"), undefined, state.version).then(function (result) {
        if (result.status !== 200) { Panel.askCancel(false); Panel.refusal(result); return; }
        var block = applyMeeting(result.data, result.version);
        Undo.record({ kind: "cancel", id: state.id, body: snapshotBody, visit: state.data.visit,
                      what: t("what_cancel", { title: result.data.title }) });
        Panel.close(true);
        block.el.focus();
        announce(t("cancelled", { title: result.data.title }));
      });
    },

    close: function (quiet) {
      if (!Panel.node || Panel.node.hidden) return;
      Panel.node.hidden = true;
      document.body.classList.remove("planner-panel-open");
      if (Panel.state && Panel.state.selection) Panel.state.selection.remove();
      Panel.state = null;
      if (!quiet && Panel.returnFocus && document.body.contains(Panel.returnFocus)) Panel.returnFocus.focus();
    }
  };

  // --- undo: the last change, written back through the API ----------------------------------

  var Undo = {
    last: null,
    button: null,

    record: function (entry) {
      Undo.last = entry;
      if (!Undo.button) return;
      Undo.button.disabled = false;
      Undo.button.textContent = t("undo_label", { what: entry.what });
    },

    reset: function () {
      Undo.last = null;
      if (!Undo.button) return;
      Undo.button.disabled = true;
      Undo.button.textContent = Undo.button.dataset.label;
    },

    run: function () {
      var entry = Undo.last;
      if (!entry) { announce(t("nothing_to_undo")); return; }
      var block = blocks[entry.id];
      var request;
      if (entry.kind === "update") {
        request = api("PATCH", meetingUrl(entry.id), entry.body, block && block.version);
      } else if (entry.kind === "create") {
        request = api("POST", meetingUrl(entry.id, "cancel"), undefined, block && block.version);
      } else { // a cancelled meeting cannot come back; undo books the same meeting anew
        var body = Object.assign({ timezone: config.timezone }, entry.body);
        if (entry.visit) body.visit = entry.visit;
        request = api("POST", config.urls.meetings, body);
      }
      request.then(function (result) {
        if (result.status !== 200 && result.status !== 201) {
          if (result.status === 412 && block) {
            reload(block).then(function () { announce(t("stale", { title: block.title }), true); });
          } else {
            announce(t("refused", { message: errorMessage(result) }), true);
          }
          return;
        }
        var updated = applyMeeting(result.data, result.version);
        Undo.reset();
        if (updated.el) updated.el.focus();
        announce(t("undone", { what: entry.what }));
      });
    }
  };

  // --- proposals (issue 13): draft blocks, accepted all at once or one by one ------------------

  var Proposals = {
    current: null,
    bar: null,

    init: function () {
      Proposals.bar = document.querySelector("[data-proposal-bar]");
      if (!config.urls.proposals) return; // a room's or a person's day: no visit to propose for
      if (config.proposal) {
        api("GET", config.urls.proposal + config.proposal + "/").then(function (result) {
          if (result.status === 200) Proposals.show(result.data);
        });
        return;
      }
      // otherwise the newest draft, if any: a proposal left open elsewhere shows up where one plans
      api("GET", config.urls.proposals).then(function (result) {
        var drafts = result.status === 200 && Array.isArray(result.data) ? result.data.filter(function (p) {
          return p.status === "draft" && Proposals.open(p).length;
        }) : [];
        if (drafts.length) Proposals.show(drafts[0]);
      });
    },

    create: function () {
      announce(t("proposing"));
      api("POST", config.urls.proposals, {}).then(function (result) {
        if (result.status !== 201 && result.status !== 200) {
          announce(t("proposal_failed", { message: errorMessage(result) }), true);
          return;
        }
        Proposals.show(result.data);
      });
    },

    open: function (proposal) {
      return (proposal.items || []).filter(function (item) { return !item.removed && !item.meeting; });
    },

    show: function (proposal) {
      Proposals.current = proposal;
      document.querySelectorAll(".tl-draft").forEach(function (n) { n.remove(); });
      var items = Proposals.open(proposal);
      items.forEach(function (item) {
        var starts = isoToLocal(item.starts_at), ends = isoToLocal(item.ends_at);
        var grid = gridForDay(starts.day);
        if (!grid) return;
        var lane = laneForRoom(grid, item.room, item.location) || grid.lanes[0];
        var node = el("div", "tl-draft");
        node.setAttribute("role", "group");
        node.setAttribute("aria-label", t("draft") + ": " + item.title);
        node.setAttribute("data-testid", "draft-block");
        node.dataset.item = String(item.id);
        node.appendChild(el("p", "draft-label", t("draft")));
        node.appendChild(el("p", "tl-title", item.title));
        var where = item.room ? (item.room_name || roomName(item.room)) : (item.location || t("no_room"));
        node.appendChild(el("p", "tl-time", hhmm(starts.minutes) + "–" + hhmm(ends.minutes) + ", " + where));
        if (item.reason) node.appendChild(el("p", "draft-reason", item.reason));
        var accept = el("button", "small", t("accept", { title: item.title }));
        accept.type = "button";
        accept.dataset.acceptItem = String(item.id);
        node.appendChild(accept);
        place(node, grid, lane ? lane.index : 0, starts.minutes, minutesFrom(starts.day, item.ends_at));
        grid.el.appendChild(node);
      });
      if (!Proposals.bar) return;
      Proposals.bar.hidden = items.length === 0 && !(proposal.unplaced || []).length;
      Proposals.bar.querySelector("[data-proposal-summary]").textContent = t("proposal_loaded", { n: items.length });
      Proposals.bar.querySelector("[data-accept-all]").hidden = items.length === 0;
      var unplaced = Proposals.bar.querySelector("[data-proposal-unplaced]");
      unplaced.textContent = "";
      (proposal.unplaced || []).forEach(function (u) { unplaced.appendChild(el("li", null, u.title + ": " + u.reason)); });
      announce(t("proposal_loaded", { n: items.length }));
    },

    accept: function (itemIds) {
      var proposal = Proposals.current;
      if (!proposal) return;
      var before = {};
      (proposal.items || []).forEach(function (item) { before[item.id] = item.meeting; });
      var body = itemIds ? { items: itemIds } : {};
      api("POST", config.urls.proposal + proposal.id + "/accept/", body).then(function (result) {
        if (result.status !== 200) {
          announce(t("proposal_failed", { message: errorMessage(result) }), true);
          return;
        }
        var booked = (result.data.items || []).filter(function (item) { return item.meeting && !before[item.id]; });
        Promise.all(booked.map(function (item) {
          return api("GET", meetingUrl(item.meeting)).then(function (r) {
            if (r.status === 200) applyMeeting(r.data, r.version);
          });
        })).then(function () {
          Proposals.show(result.data);
          announce(t("proposal_accepted", { n: booked.length }));
        });
      });
    },

    hide: function () {
      document.querySelectorAll(".tl-draft").forEach(function (n) { n.remove(); });
      if (Proposals.bar) Proposals.bar.hidden = true;
      Proposals.current = null;
    }
  };

  // --- start-up -------------------------------------------------------------------------------

  function readJson(id) {
    var node = document.getElementById(id);
    if (!node) return null;
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function select(block) {
    document.querySelectorAll(".tl-block.selected").forEach(function (n) { n.classList.remove("selected"); });
    block.el.classList.add("selected");
    Busy.load(block);
  }

  function start() {
    config = readJson("planner-config");
    texts = readJson("planner-texts") || {};
    document.querySelectorAll("[data-planner-grid]").forEach(function (node) {
      var grid = readGrid(node);
      grids.push(grid);
      node.querySelectorAll(".tl-block").forEach(function (blockNode) {
        var block = readBlock(blockNode, grid);
        draw(block);
        if (blockNode.tagName === "BUTTON") blocks[block.id] = block;
      });
    });
    if (!config) return; // a host's read-only view: layout only
    config.people = config.people || [];
    statusEl = document.getElementById("planner-status");
    Undo.button = document.querySelector("[data-undo]");
    if (Undo.button) Undo.button.dataset.label = Undo.button.textContent;
    Panel.init();
    Proposals.init();

    document.addEventListener("keydown", function (event) {
      var typing = event.target.closest && event.target.closest("input, select, textarea");
      if (!typing && (event.ctrlKey || event.metaKey) && !event.shiftKey && !event.altKey &&
          event.key.toLowerCase() === "z" && Undo.last) {
        event.preventDefault();
        Undo.run();
        return;
      }
      var block = blockOf(event.target);
      if (block && config.editable) onBlockKey(event, block);
    });
    document.addEventListener("focusin", function (event) {
      var block = blockOf(event.target);
      if (block) select(block);
    });
    document.addEventListener("click", function (event) {
      var block = blockOf(event.target);
      if (block) {
        event.preventDefault();
        if (suppressClick) return;
        if (event.detail === 0) return; // Enter/Space: handled by the keyboard code
        if (config.editable) Panel.openFor(block);
        return;
      }
      var button = event.target.closest("button");
      if (!button) return;
      if (button.hasAttribute("data-undo")) Undo.run();
      else if (button.hasAttribute("data-new-meeting")) {
        var grid = gridForDay(button.dataset.day);
        var lanes = grid ? roomLanes(grid) : [];
        Panel.openNew(button.dataset.day, 9 * 60, 10 * 60, lanes.length ? lanes[0].room : null, null);
      } else if (button.hasAttribute("data-propose")) Proposals.create();
      else if (button.hasAttribute("data-accept-all")) Proposals.accept(null);
      else if (button.hasAttribute("data-accept-item")) Proposals.accept([+button.dataset.acceptItem]);
      else if (button.hasAttribute("data-discard-proposal")) Proposals.hide();
    });
    document.addEventListener("keyup", function (event) {
      // Space on a block opens its details (Enter is handled on keydown)
      var block = blockOf(event.target);
      if (block && event.key === " " && config.editable && !isPending(block)) Panel.openFor(block);
    });
    document.addEventListener("pointerdown", onPointerDown);
    document.addEventListener("pointermove", onPointerMove);
    document.addEventListener("pointerup", onPointerUp);
    document.addEventListener("pointercancel", onPointerCancel);
    // leaving with a moved-but-unsaved meeting asks first
    window.addEventListener("beforeunload", function (event) {
      var pending = Object.keys(blocks).some(function (id) { return isPending(blocks[id]); });
      if (pending) { event.preventDefault(); event.returnValue = ""; }
    });
    // once a held finger drags, the page must not scroll under it (touch-action allows panning)
    document.addEventListener("touchmove", function (event) {
      if (drag && drag.touch && drag.armed && event.cancelable) event.preventDefault();
    }, { passive: false });
    document.addEventListener("contextmenu", function (event) {
      if (drag && drag.touch) event.preventDefault(); // a long press picks the block up instead
    });
  }

  // A small surface for tests and the console; the planner itself does not use it.
  window.VisitdeskPlanner = {
    localToIso: localToIso, isoToLocal: isoToLocal, hhmm: hhmm, fmt: fmt,
    busyReasons: function (id) { var b = blocks[id]; return b ? Busy.reasons(b, b.lane && b.lane.room, b.start, b.end) : []; },
    busyLoaded: function () { return Busy.loaded ? Busy.loaded.block.id : null; }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
