/* The shop and order pages: the little behaviour they need. Plain JS, no build step.
 *
 *   form[data-number-form]        the new line form: only the number part that is chosen
 *     input[data-number-mode]     (pool / choose / port) shows; [data-number-part="…"] parts
 *   button[data-once]             disabled once its form is sent, so a double click sends once
 *                                 (the server also places one order per cart revision)
 */
(function () {
  "use strict";

  function each(list, fn) {
    Array.prototype.forEach.call(list, fn);
  }

  function setupNumberParts(form) {
    var modes = form.querySelectorAll("input[data-number-mode]");
    var parts = form.querySelectorAll("[data-number-part]");
    function show() {
      var chosen = "pool";
      each(modes, function (input) {
        if (input.checked) {
          chosen = input.getAttribute("data-number-mode");
        }
      });
      each(parts, function (part) {
        part.hidden = part.getAttribute("data-number-part") !== chosen;
      });
    }
    each(modes, function (input) {
      input.addEventListener("change", show);
    });
    show();
  }

  // After the confirmation (asystent.js asks in the capture phase) the form really goes:
  // disable its buttons a moment later, so the pressed button's name still travels with it.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.querySelector) {
      return;
    }
    var buttons = form.querySelectorAll("button[data-once]");
    if (event.submitter && event.submitter.hasAttribute("data-once")) {
      buttons = [event.submitter];
    } else if (!buttons.length) {
      return;
    }
    window.setTimeout(function () {
      each(buttons, function (button) {
        button.disabled = true;
      });
    }, 0);
  });

  // A page shown again from the back/forward cache: the buttons work again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      each(document.querySelectorAll("button[data-once]"), function (button) {
        button.disabled = false;
      });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    each(document.querySelectorAll("form[data-number-form]"), setupNumberParts);
  });
})();
