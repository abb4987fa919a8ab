// A form with data-busy: while it submits, its button is disabled and says so.
"use strict";
(function () {
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    var button = form.querySelector("button[type=submit]");
    if (!button) return;
    var idle = button.textContent;
    form.addEventListener("submit", function () {
      form.setAttribute("aria-busy", "true");
      button.disabled = true;
      button.textContent = form.dataset.busy;
    });
    // Back to the form from the next page: ready again, not stuck "busy".
    window.addEventListener("pageshow", function () {
      form.removeAttribute("aria-busy");
      button.disabled = false;
      button.textContent = idle;
    });
  });
})();
