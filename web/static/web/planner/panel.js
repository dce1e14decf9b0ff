/* The side panel: one form for a new meeting or an existing one (title, kind, date and times, room,
 * online link, participants with roles, agenda items, "book even if unavailable", cancel after
 * asking). Saving POSTs or PATCHes the meeting; a stale save keeps what was typed and takes the
 * other person's values for the fields left alone, so a second Save is a conscious overwrite. */

import { showPanelAnswers } from "./answers.js";
import { api, errorMessage, meetingUrl } from "./api.js";
import { applyMeeting, showBusy } from "./blocks.js";
import { personName, roomName } from "./grid.js";
import { brokenRules, rulesNote } from "./rules.js";
import { state } from "./state.js";
import { announce, el, fmt, t } from "./text.js";
import { hhmm, isoToLocal, localToIso, minutesFrom } from "./time.js";
import { recordUndo } from "./undo.js";

const panel = state.panel;

export function initPanel() {
  panel.node = document.getElementById("planner-panel");
  panel.form = document.getElementById("planner-form");
  if (!panel.node) return;
  panel.form.addEventListener("submit", (event) => { event.preventDefault(); save(); });
  panel.node.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.hasAttribute("data-close-panel")) closePanel();
    else if (target.hasAttribute("data-add-person")) addPerson();
    else if (target.hasAttribute("data-add-item")) addItem();
    else if (target.hasAttribute("data-cancel-meeting")) askCancel(true);
    else if (target.hasAttribute("data-keep-meeting")) askCancel(false);
    else if (target.hasAttribute("data-confirm-cancel")) cancelMeeting();
    else if (target.hasAttribute("data-remove-person")) removePerson(+target.dataset.removePerson);
    else if (target.hasAttribute("data-remove-item")) removeItem(+target.dataset.removeItem);
  });
  panel.node.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); closePanel(); }
  });
}

function field(name) {
  return panel.form.elements[name];
}

function showError(message) {
  const box = panel.node.querySelector("[data-form-error]");
  box.textContent = message || "";
  box.hidden = !message;
}

function show(heading) {
  panel.node.hidden = false;
  document.body.classList.add("planner-panel-open");
  showError("");
  askCancel(false);
  document.getElementById("panel-heading").textContent = heading;
  field("title").focus();
}

/** A new meeting from ``start`` to ``end`` (minutes of ``day``); ``selection`` is the shaded drag. */
export function openNew(day, start, end, room, selection) {
  closePanel(true);
  panel.current = {
    mode: "new", selection: selection || null,
    data: { title: "", kind: "meeting", online_url: "", participants: state.config.new_participants || [],
            agenda_items: [] }
  };
  panel.returnFocus = document.activeElement;
  fill(panel.current.data, day, start, end, room);
  panel.node.querySelector("[data-cancel-meeting]").hidden = true;
  showPanelAnswers(panel.node, null, "");
  show(t("new_meeting"));
}

/** An existing meeting, as the server has it now. */
export function openFor(block) {
  closePanel(true);
  panel.returnFocus = block.el;
  showBusy(block);
  api("GET", meetingUrl(block.id)).then((result) => {
    if (result.status !== 200) { announce(t("gone"), true); return; }
    const updated = applyMeeting(result.data, result.version);
    panel.current = { mode: "edit", id: block.id, data: result.data, version: result.version };
    const starts = isoToLocal(result.data.starts_at);
    fill(result.data, starts.day, starts.minutes, minutesFrom(starts.day, result.data.ends_at), result.data.room);
    panel.node.querySelector("[data-cancel-meeting]").hidden = result.data.status !== "scheduled";
    showPanelAnswers(panel.node, result.data, block.repair);
    show(t("edit_meeting", { title: updated.title }));
  });
}

function fill(data, day, start, end, room) {
  field("title").value = data.title || "";
  field("kind").value = data.kind || "meeting";
  field("date").value = day;
  field("start").value = hhmm(start);
  field("end").value = hhmm(end === 1440 ? 0 : end);
  panel.overnight = end >= 1440; // "ends 00:30" after "starts 22:00" then means the next day
  field("room").value = room ? String(room) : "";
  field("online_url").value = data.online_url || "";
  field("override_availability").checked = false;
  panel.people = (data.participants || []).map((p) => ({ person: p.person, name: p.name || personName(p.person), role: p.role }));
  panel.items = (data.agenda_items || []).map((a) => (
    { title: a.title, minutes: a.minutes, topic: a.topic, presenter: a.presenter, notes: a.notes || "" }));
  drawPeople();
  drawItems();
}

// --- participants and agenda items ------------------------------------------------------------

function drawPeople() {
  const list = panel.node.querySelector("[data-participants]");
  list.textContent = "";
  panel.people.forEach((p, index) => {
    const li = el("li");
    const name = el("a", "person-name", p.name);
    name.href = fmt(state.config.urls.person_day, { id: p.person, day: field("date").value });
    name.title = t("person_day", { name: p.name });
    li.appendChild(name);
    const select = el("select");
    select.setAttribute("aria-label", t("role_of", { name: p.name }));
    state.config.roles.forEach((role) => {
      const option = el("option", null, role[1]);
      option.value = role[0];
      select.appendChild(option);
    });
    select.value = p.role;
    select.addEventListener("change", () => { p.role = select.value; });
    li.appendChild(select);
    const remove = el("button", "secondary small", t("remove"));
    remove.type = "button";
    remove.setAttribute("aria-label", t("remove_person", { name: p.name }));
    remove.dataset.removePerson = String(index);
    li.appendChild(remove);
    list.appendChild(li);
  });
}

function drawItems() {
  const list = panel.node.querySelector("[data-agenda]");
  list.textContent = "";
  panel.items.forEach((item, index) => {
    const n = index + 1;
    const li = el("li");
    const title = el("input");
    title.type = "text";
    title.maxLength = 200;
    title.value = item.title;
    title.setAttribute("aria-label", t("agenda_title", { n: n }));
    title.addEventListener("input", () => { item.title = title.value; });
    const minutes = el("input");
    minutes.type = "number";
    minutes.min = "1";
    minutes.max = "1440";
    minutes.value = item.minutes || "";
    minutes.setAttribute("aria-label", t("agenda_minutes", { n: n }));
    minutes.addEventListener("input", () => { item.minutes = minutes.value ? +minutes.value : null; });
    const remove = el("button", "secondary small", t("remove"));
    remove.type = "button";
    remove.setAttribute("aria-label", t("remove_item", { n: n }));
    remove.dataset.removeItem = String(index);
    li.appendChild(title);
    li.appendChild(minutes);
    li.appendChild(remove);
    list.appendChild(li);
  });
}

function addPerson() {
  const select = document.getElementById("pf-add-person");
  const id = +select.value;
  if (!id) { select.focus(); return; }
  const option = select.options[select.selectedIndex];
  if (!panel.people.some((p) => p.person === id)) {
    panel.people.push({ person: id, name: option.textContent, role: option.dataset.role || "guest" });
    drawPeople();
  }
  select.value = "";
  select.focus();
}

function removePerson(index) {
  panel.people.splice(index, 1);
  drawPeople();
  document.getElementById("pf-add-person").focus();
}

function addItem() {
  panel.items.push({ title: "", minutes: null, topic: null, presenter: null, notes: "" });
  drawItems();
  const inputs = panel.node.querySelectorAll("[data-agenda] input[type=text]");
  inputs[inputs.length - 1].focus();
}

function removeItem(index) {
  panel.items.splice(index, 1);
  drawItems();
  panel.node.querySelector("[data-add-item]").focus();
}

// --- saving -------------------------------------------------------------------------------------

/** The form as an API body; null (with a message) when it cannot be sent. */
function formBody() {
  const title = field("title").value.trim();
  if (!title) { showError(t("title_required")); field("title").focus(); return null; }
  const day = field("date").value;
  const start = field("start").value, end = field("end").value;
  if (!day || !start || !end) { showError(t("ends_after")); return null; }
  const startMin = +start.slice(0, 2) * 60 + +start.slice(3, 5);
  let endMin = +end.slice(0, 2) * 60 + +end.slice(3, 5);
  if (endMin <= startMin && panel.overnight) endMin += 1440;
  if (endMin <= startMin) { showError(t("ends_after")); field("end").focus(); return null; }
  const room = field("room").value;
  return {
    title: title,
    kind: field("kind").value,
    starts_at: localToIso(day, startMin),
    ends_at: localToIso(day, endMin),
    room: room ? +room : null,
    online_url: field("online_url").value.trim(),
    override_availability: field("override_availability").checked,
    participants: panel.people.map((p) => ({ person: p.person, role: p.role })),
    agenda_items: panel.items.filter((a) => a.title.trim()).map((a) => ({
      title: a.title.trim(), minutes: a.minutes || null, topic: a.topic || null,
      presenter: a.presenter || null, notes: a.notes || ""
    }))
  };
}

function save() {
  const current = panel.current;
  const body = formBody();
  if (!current || !body) return;
  const config = state.config;
  showError("");
  announce(t("saving"));
  if (current.mode === "new") {
    if (config.visit) body.visit = config.visit; // a room's or a person's day makes standalone meetings
    body.timezone = config.timezone;
    api("POST", config.urls.meetings, body).then((result) => {
      if (result.status !== 201) { refusal(result); return; }
      const block = applyMeeting(result.data, result.version);
      recordUndo({ kind: "create", id: result.data.id, what: t("what_create", { title: result.data.title }) });
      closePanel(true);
      if (block.el) block.el.focus();
      announce(t("created", { title: result.data.title, start: hhmm(block.start), end: hhmm(block.end),
                              room: block.lane ? block.lane.label : roomName(block.room) }) + rulesNote(result.data),
               brokenRules(result.data).length > 0);
    });
    return;
  }
  const before = asBody(current.data);
  api("PATCH", meetingUrl(current.id), body, current.version).then((result) => {
    if (result.status !== 200) { refusal(result); return; }
    const block = applyMeeting(result.data, result.version);
    recordUndo({ kind: "update", id: current.id, body: before, what: t("what_edit", { title: before.title }) });
    closePanel(true);
    block.el.focus();
    announce(t("saved", { title: block.title, start: hhmm(block.start), end: hhmm(block.end),
                          room: block.lane ? block.lane.label : roomName(block.room) }) + rulesNote(result.data),
             brokenRules(result.data).length > 0);
  });
}

/** An API representation as the body that would write it back (for undo). */
function asBody(data) {
  return {
    title: data.title, kind: data.kind, starts_at: data.starts_at, ends_at: data.ends_at, room: data.room,
    timezone: data.timezone,
    location: data.location || "", online_url: data.online_url || "", description: data.description || "",
    participants: (data.participants || []).map((p) => ({ person: p.person, role: p.role })),
    agenda_items: (data.agenda_items || []).map((a) => (
      { title: a.title, minutes: a.minutes, topic: a.topic, presenter: a.presenter, notes: a.notes || "" }))
  };
}

function refusal(result) {
  let message = result.status === 412 ? t("stale", { title: panel.current.data.title }) : t("refused", {
    message: errorMessage(result)
  });
  if (result.status === 412 && panel.current.mode === "edit") {
    // keep what was typed; reload the block and the version, so a second Save is a conscious overwrite
    const current = panel.current;
    message = t("stale_panel", { title: current.data.title });
    api("GET", meetingUrl(current.id)).then((fresh) => {
      if (fresh.status !== 200) { showError(t("gone")); return; }
      applyMeeting(fresh.data, fresh.version);
      if (panel.current !== current) return;
      merge(current.data, fresh.data);
      current.data = fresh.data;
      current.version = fresh.version;
    });
  }
  showError(message);
  announce(message, true);
  field("title").focus();
}

/** The form's values for a meeting as the API gave it. */
function formOf(data) {
  const starts = isoToLocal(data.starts_at);
  return {
    title: data.title, kind: data.kind, date: starts.day, start: hhmm(starts.minutes),
    end: hhmm(minutesFrom(starts.day, data.ends_at) % 1440), room: data.room ? String(data.room) : "",
    online_url: data.online_url || "",
    people: JSON.stringify((data.participants || []).map((p) => [p.person, p.role])),
    items: JSON.stringify((data.agenda_items || []).map((a) => [a.title, a.minutes || null]))
  };
}

/** After a refused stale save: what the coordinator did not touch takes the other person's new value. */
function merge(oldData, freshData) {
  const before = formOf(oldData), after = formOf(freshData);
  ["title", "kind", "date", "start", "end", "room", "online_url"].forEach((name) => {
    if (field(name).value === before[name]) field(name).value = after[name];
  });
  const people = JSON.stringify(panel.people.map((p) => [p.person, p.role]));
  const items = JSON.stringify(panel.items.map((a) => [a.title, a.minutes || null]));
  if (people === before.people || items === before.items) {
    const keep = { people: panel.people, items: panel.items };
    const day = field("date").value, start = field("start").value, end = field("end").value;
    const values = {};
    ["title", "kind", "room", "online_url"].forEach((n) => { values[n] = field(n).value; });
    const overnight = panel.overnight;
    fill(freshData, day, 0, 0, null);
    panel.overnight = overnight;
    field("start").value = start;
    field("end").value = end;
    Object.keys(values).forEach((n) => { field(n).value = values[n]; });
    if (people !== before.people) { panel.people = keep.people; drawPeople(); }
    if (items !== before.items) { panel.items = keep.items; drawItems(); }
  }
}

// --- cancelling and closing ---------------------------------------------------------------------

function askCancel(showIt) {
  const box = panel.node.querySelector("[data-cancel-confirm]");
  box.hidden = !showIt;
  if (showIt) box.querySelector("[data-confirm-cancel]").focus();
}

function cancelMeeting() {
  const current = panel.current;
  if (!current || current.mode !== "edit") return;
  const snapshotBody = asBody(current.data);
  api("POST", meetingUrl(current.id, "cancel"), undefined, current.version).then((result) => {
    if (result.status !== 200) { askCancel(false); refusal(result); return; }
    const block = applyMeeting(result.data, result.version);
    recordUndo({ kind: "cancel", id: current.id, body: snapshotBody, visit: current.data.visit,
                 what: t("what_cancel", { title: result.data.title }) });
    closePanel(true);
    block.el.focus();
    announce(t("cancelled", { title: result.data.title }));
  });
}

/** Close the panel; unless ``quiet``, focus goes back to where it was opened from. */
export function closePanel(quiet) {
  if (!panel.node || panel.node.hidden) return;
  panel.node.hidden = true;
  document.body.classList.remove("planner-panel-open");
  if (panel.current && panel.current.selection) panel.current.selection.remove();
  panel.current = null;
  if (!quiet && panel.returnFocus && document.body.contains(panel.returnFocus)) panel.returnFocus.focus();
}
