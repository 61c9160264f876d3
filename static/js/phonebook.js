/* Phone book: the "hide my entry" switch saves itself when flipped (the Save button stays
 * for browsers without JavaScript). */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-autosubmit]");
    Array.prototype.forEach.call(forms, function (form) {
      var hide = form.querySelectorAll("[data-autosubmit-hide]");
      Array.prototype.forEach.call(hide, function (el) {
        el.classList.add("d-none");
      });
      form.addEventListener("change", function () {
        if (typeof form.requestSubmit === "function") {
          form.requestSubmit();
        } else {
          form.submit();
        }
      });
    });
  });
})();
