/* Asystent — the little behaviour the pages need. Plain JS, no build step.
 *
 * The CSP allows scripts from this site only, so pages carry no inline script or on*= handler:
 * behaviour is declared with data-* attributes and attached here.
 *
 *   <form data-confirm="Really delete?">  asks before submitting (also on a submit button)
 *   <div class="alert" data-autodismiss>   closes itself after a few seconds (success flashes)
 *   #flashes[data-error-text]              shown when an htmx request fails
 */
(function () {
  "use strict";

  var AUTODISMISS_MS = 6000;

  // Ask before submitting a form (or pressing a button) that carries data-confirm.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var submitter = event.submitter;
      var message =
        (submitter && submitter.getAttribute("data-confirm")) ||
        (form && form.getAttribute && form.getAttribute("data-confirm"));
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  // htmx asks the same question for elements with hx-confirm; data-confirm works there too.
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail && event.detail.elt;
    var message = elt && elt.getAttribute && elt.getAttribute("data-confirm");
    if (!message) {
      return;
    }
    event.preventDefault();
    if (window.confirm(message)) {
      event.detail.issueRequest(true);
    }
  });

  function closeAlert(alert) {
    if (window.bootstrap && window.bootstrap.Alert) {
      window.bootstrap.Alert.getOrCreateInstance(alert).close();
    } else if (alert.parentNode) {
      alert.parentNode.removeChild(alert);
    }
  }

  // Success messages fade out by themselves, unless the pointer or focus is on them.
  function scheduleAutodismiss(root) {
    var alerts = (root || document).querySelectorAll(".alert[data-autodismiss]");
    Array.prototype.forEach.call(alerts, function (alert) {
      if (alert.dataset.autodismissScheduled) {
        return;
      }
      alert.dataset.autodismissScheduled = "1";
      var timer = null;
      var start = function () {
        timer = window.setTimeout(function () {
          closeAlert(alert);
        }, AUTODISMISS_MS);
      };
      var stop = function () {
        window.clearTimeout(timer);
      };
      alert.addEventListener("mouseenter", stop);
      alert.addEventListener("focusin", stop);
      alert.addEventListener("mouseleave", start);
      start();
    });
  }

  // An alert added by script (the text comes from the page, already translated).
  function showError(text) {
    var box = document.getElementById("flashes");
    if (!box || !text) {
      return;
    }
    var alert = document.createElement("div");
    alert.className = "alert alert-danger alert-dismissible fade show d-flex align-items-start gap-2";
    alert.setAttribute("role", "alert");
    var icon = document.createElement("i");
    icon.className = "bi bi-exclamation-octagon-fill flash-icon";
    icon.setAttribute("aria-hidden", "true");
    var body = document.createElement("div");
    body.className = "flash-text";
    body.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", box.getAttribute("data-close-text") || "Close");
    alert.appendChild(icon);
    alert.appendChild(body);
    alert.appendChild(close);
    box.replaceChildren(alert);
  }

  function onHtmxFailure() {
    var box = document.getElementById("flashes");
    showError(box && box.getAttribute("data-error-text"));
  }

  document.addEventListener("htmx:responseError", onHtmxFailure);
  document.addEventListener("htmx:sendError", onHtmxFailure);

  // htmx follows redirects inside the XHR; if that lands on the sign-in page, the session has
  // ended: load the page for real instead of swapping a sign-in form into a table.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (!xhr || !xhr.responseURL) {
      return;
    }
    var path = new URL(xhr.responseURL).pathname;
    if (/\/login(\/|$)/.test(path)) {
      event.detail.shouldSwap = false;
      window.location.assign(xhr.responseURL);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    scheduleAutodismiss(document);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    scheduleAutodismiss(event.target);
  });
})();
