/* Fleet list and line page: selection of lines and the change form. Plain JS, no build step.
 *
 * Everything is attached by event delegation on the document, so it keeps working after htmx
 * replaces the results part of the list.
 *
 *   input[data-select-page]         ticks or unticks every line on the page
 *   input[name=ids][form=bulk-form] one line; ticking one chooses "lines ticked below"
 *   [data-selected-count]           shows how many lines are ticked
 *   select[data-action-select]      shows only the fields the chosen change needs
 *                                   (elements with data-for-action="<action>")
 */
(function () {
  "use strict";

  function lineBoxes() {
    return Array.prototype.slice.call(
      document.querySelectorAll('input[type="checkbox"][name="ids"][form="bulk-form"]')
    );
  }

  function refreshSelection() {
    var boxes = lineBoxes();
    var ticked = boxes.filter(function (b) { return b.checked; }).length;
    document.querySelectorAll("[data-selected-count]").forEach(function (el) {
      el.textContent = String(ticked);
    });
    document.querySelectorAll("input[data-select-page]").forEach(function (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    });
    boxes.forEach(function (b) {
      var row = b.closest("tr");
      if (row) {
        row.classList.toggle("table-active", b.checked);
      }
    });
  }

  function chooseTarget(value) {
    var radio = document.querySelector('#bulk-form input[name="target"][value="' + value + '"]');
    if (radio && !radio.disabled) {
      radio.checked = true;
    }
  }

  function showActionFields(select) {
    var form = select.form;
    if (!form) {
      return;
    }
    var action = select.value;
    form.querySelectorAll("[data-for-action]").forEach(function (group) {
      var wanted = group.getAttribute("data-for-action").split(" ");
      group.classList.toggle("d-none", wanted.indexOf(action) === -1);
    });
  }

  function init(root) {
    (root || document).querySelectorAll("select[data-action-select]").forEach(showActionFields);
    refreshSelection();
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("input[data-select-page]")) {
      lineBoxes().forEach(function (b) { b.checked = el.checked; });
      chooseTarget("selected");
      refreshSelection();
    } else if (el.matches && el.matches('input[name="ids"][form="bulk-form"]')) {
      chooseTarget("selected");
      refreshSelection();
    } else if (el.matches && el.matches("select[data-action-select]")) {
      showActionFields(el);
    }
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
