/* Small enhancements only; every page works without this file.
 * - formsets: "Add another …" appends a row in place instead of reloading the page
 * - calendar addresses are selected on focus, ready to copy
 */
(function () {
  "use strict";

  function addRow(container) {
    var total = container.querySelector('input[name$="-TOTAL_FORMS"]');
    var max = container.querySelector('input[name$="-MAX_NUM_FORMS"]');
    var template = container.querySelector("template[data-empty-row]");
    var rows = container.querySelector("[data-rows]");
    var index = parseInt(total.value, 10);
    if (max && index >= parseInt(max.value, 10)) return;
    var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__number__/g, String(index + 1));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    rows.appendChild(row);
    total.value = String(index + 1);
    var first = row.querySelector("input, select, textarea");
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-row]");
    if (!button) return;
    var container = button.closest("[data-formset]");
    if (!container || !container.querySelector("template[data-empty-row]")) return;
    event.preventDefault();
    addRow(container);
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  function ready() {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
