/* The scheduler's proposals on the timeline: a draft drawn as blocks with the solver's reason, each
 * with an "Accept" button, and "Accept all" for the rest. Booked items become ordinary blocks. */

import { api, errorMessage, meetingUrl } from "./api.js";
import { applyMeeting } from "./blocks.js";
import { gridForDay, laneForRoom, place, roomName } from "./grid.js";
import { state } from "./state.js";
import { announce, el, t } from "./text.js";
import { hhmm, isoToLocal, minutesFrom } from "./time.js";

const proposals = state.proposals;

/** Show the proposal the page asks for (?proposal=<id>), else the newest draft with open items. */
export function initProposals() {
  const config = state.config;
  proposals.bar = document.querySelector("[data-proposal-bar]");
  if (!config.urls.proposals) return; // a room's or a person's day: no visit to propose for
  if (config.proposal) {
    api("GET", config.urls.proposal + config.proposal + "/").then((result) => {
      if (result.status === 200) show(result.data);
    });
    return;
  }
  // otherwise the newest draft, if any: a proposal left open elsewhere shows up where one plans
  api("GET", config.urls.proposals).then((result) => {
    const drafts = result.status === 200 && Array.isArray(result.data)
      ? result.data.filter((p) => p.status === "draft" && openItems(p).length) : [];
    if (drafts.length) show(drafts[0]);
  });
}

/** Ask the scheduler for a new proposal and draw it. */
export function createProposal() {
  announce(t("proposing"));
  api("POST", state.config.urls.proposals, {}).then((result) => {
    if (result.status !== 201 && result.status !== 200) {
      announce(t("proposal_failed", { message: errorMessage(result) }), true);
      return;
    }
    show(result.data);
  });
}

/** Items neither removed nor booked yet. */
function openItems(proposal) {
  return (proposal.items || []).filter((item) => !item.removed && !item.meeting);
}

function show(proposal) {
  proposals.current = proposal;
  document.querySelectorAll(".tl-draft").forEach((n) => n.remove());
  const items = openItems(proposal);
  items.forEach((item) => {
    const starts = isoToLocal(item.starts_at), ends = isoToLocal(item.ends_at);
    const grid = gridForDay(starts.day);
    if (!grid) return;
    const lane = laneForRoom(grid, item.room, item.location) || grid.lanes[0];
    const node = el("div", "tl-draft");
    node.setAttribute("role", "group");
    node.setAttribute("aria-label", t("draft") + ": " + item.title);
    node.setAttribute("data-testid", "draft-block");
    node.dataset.item = String(item.id);
    node.appendChild(el("p", "draft-label", t("draft")));
    node.appendChild(el("p", "tl-title", item.title));
    const where = item.room ? (item.room_name || roomName(item.room)) : (item.location || t("no_room"));
    node.appendChild(el("p", "tl-time", hhmm(starts.minutes) + "–" + hhmm(ends.minutes) + ", " + where));
    if (item.reason) node.appendChild(el("p", "draft-reason", item.reason));
    const accept = el("button", "small", t("accept", { title: item.title }));
    accept.type = "button";
    accept.dataset.acceptItem = String(item.id);
    node.appendChild(accept);
    place(node, grid, lane ? lane.index : 0, starts.minutes, minutesFrom(starts.day, item.ends_at));
    grid.el.appendChild(node);
  });
  const bar = proposals.bar;
  if (!bar) return;
  bar.hidden = items.length === 0 && !(proposal.unplaced || []).length;
  bar.querySelector("[data-proposal-summary]").textContent = t("proposal_loaded", { n: items.length });
  bar.querySelector("[data-accept-all]").hidden = items.length === 0;
  const unplaced = bar.querySelector("[data-proposal-unplaced]");
  unplaced.textContent = "";
  (proposal.unplaced || []).forEach((u) => { unplaced.appendChild(el("li", null, u.title + ": " + u.reason)); });
  announce(t("proposal_loaded", { n: items.length }));
}

/** Book the given items (all open ones when ``itemIds`` is null), then draw the new meetings. */
export function acceptProposal(itemIds) {
  const proposal = proposals.current;
  if (!proposal) return;
  const before = {};
  (proposal.items || []).forEach((item) => { before[item.id] = item.meeting; });
  const body = itemIds ? { items: itemIds } : {};
  api("POST", state.config.urls.proposal + proposal.id + "/accept/", body).then((result) => {
    if (result.status !== 200) {
      announce(t("proposal_failed", { message: errorMessage(result) }), true);
      return;
    }
    const booked = (result.data.items || []).filter((item) => item.meeting && !before[item.id]);
    Promise.all(booked.map((item) => api("GET", meetingUrl(item.meeting)).then((r) => {
      if (r.status === 200) applyMeeting(r.data, r.version);
    }))).then(() => {
      show(result.data);
      announce(t("proposal_accepted", { n: booked.length }));
    });
  });
}

/** Put the draft away (it stays a draft on the server). */
export function hideProposal() {
  document.querySelectorAll(".tl-draft").forEach((n) => n.remove());
  if (proposals.bar) proposals.bar.hidden = true;
  proposals.current = null;
}
