/* What a saved change means for the rules of the visit's programme (visits.rules): the API's answer
 * for a programme meeting carries its programme check, and the status line lists the rules the
 * programme now breaks. The change is saved either way: the rules warn, they never refuse. */

import { t } from "./text.js";

/** The sentences of every broken rule in an API meeting answer ([] outside a programme). */
export function brokenRules(data) {
  const check = data && data.programme_check;
  if (!Array.isArray(check)) return [];
  const out = [];
  check.forEach((rule) => {
    if (!rule.kept) (rule.violations || []).forEach((v) => out.push(v.message));
  });
  return out;
}

/** What to say after "Saved: …": the broken rules, or "" when the programme keeps them all. */
export function rulesNote(data) {
  const broken = brokenRules(data);
  return broken.length ? " " + t("rules_broken", { rules: broken.join(" ") }) : "";
}
