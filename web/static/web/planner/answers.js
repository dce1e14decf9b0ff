/* Answers to a meeting's invitations, on its block and in the side panel (web/answers.py says the same
 * on the server, web/templates/web/staff/_block_answers.html). A decline by someone the meeting needs
 * (a participant whose time it blocks, ``blocks_time``: hosts, chairs, presenters, the visiting
 * delegation) is loud and offers the repair; maybe and "no answer yet" are quiet. The repair's address
 * is rendered by the server on the block (data-repair): only a meeting booked from an accepted proposal
 * has one. The answers themselves come from the API's participants, so a redrawn block stays right. */

import { el, t } from "./text.js";

/** Names by what they answered; ``needed`` are the people whose time the meeting blocks. */
export function answersOf(participants) {
  const names = (list) => list.map((p) => p.name);
  const declined = participants.filter((p) => p.rsvp === "declined");
  return {
    declined: names(declined.filter((p) => p.blocks_time)),
    declinedGuests: names(declined.filter((p) => !p.blocks_time)),
    tentative: names(participants.filter((p) => p.rsvp === "tentative")),
    // hosts, chairs and presenters only: the delegation usually hears by programme mail, which asks nothing
    waiting: names(participants.filter((p) => p.role !== "guest" && p.rsvp === "needs-action"))
  };
}

/** The block's answer lines and its loud or quiet look, from the meeting as the API gave it. */
export function drawAnswers(node, data) {
  node.querySelectorAll("[data-answer]").forEach((n) => n.remove());
  node.classList.remove("declined", "awaiting");
  if (data.status !== "scheduled") return;
  const a = answersOf(data.participants || []);
  const handle = node.querySelector(".tl-resize");
  const add = (className, key, kind, names, icon) => {
    if (!names.length) return;
    const span = el("span", className);
    if (icon) {
      const mark = el("span", null, icon);
      mark.setAttribute("aria-hidden", "true");
      span.appendChild(mark);
    }
    span.appendChild(document.createTextNode(t(key, { names: names.join(", ") })));
    span.dataset.answer = kind;
    node.insertBefore(span, handle);
  };
  add("tl-flag declined-text", "answer_declined", "declined", a.declined, "✕ ");
  add("tl-answer", "answer_declined_guest", "declined-guest", a.declinedGuests);
  add("tl-answer", "answer_tentative", "tentative", a.tentative);
  add("visually-hidden", "answer_waiting", "waiting", a.waiting);
  node.classList.toggle("declined", a.declined.length > 0);
  node.classList.toggle("awaiting", !a.declined.length && a.tentative.length > 0);
}

/** The side panel's answers box: who declined and, for a meeting from a proposal, the repair button
 * (it submits the panel's separate repair form to ``repairUrl``: the proposal page shows the preview,
 * with the button that confirms it). Hidden for a new meeting or one nobody declined or left open. */
export function showPanelAnswers(panelNode, data, repairUrl) {
  const box = panelNode.querySelector("[data-panel-answers]");
  if (!box) return;
  const a = data ? answersOf(data.participants || []) : null;
  const lines = [];
  if (a && data.status === "scheduled") {
    if (a.declined.length) lines.push(t("answer_declined", { names: a.declined.join(", ") }));
    if (a.declinedGuests.length) lines.push(t("answer_declined_guest", { names: a.declinedGuests.join(", ") }));
    if (a.tentative.length) lines.push(t("answer_tentative", { names: a.tentative.join(", ") }));
    if (a.waiting.length) lines.push(t("answer_waiting", { names: a.waiting.join(", ") }));
  }
  box.hidden = lines.length === 0;
  const loud = !!(a && a.declined.length && data.status === "scheduled");
  box.classList.toggle("quiet", !loud);
  box.querySelector("[data-answers-text]").textContent = lines.join(" · ");
  const form = document.getElementById("planner-repair-form");
  if (form) form.action = repairUrl || "";
  box.querySelector("[data-repair-row]").hidden = !(loud && repairUrl);
  box.querySelector("[data-no-repair]").hidden = !(loud && !repairUrl);
}
