// A file input with data-max-bytes: a file too large is refused before it is
// sent (the server refuses it too), with the message beside the field.
// Loaded before busy.js, so a refused submit never shows the form as busy.
"use strict";
(function () {
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    var error = document.getElementById(input.id + "-error");
    var help = input.getAttribute("aria-describedby") || "";
    function tooLarge() {
      var file = input.files && input.files[0];
      return Boolean(file && file.size > Number(input.dataset.maxBytes));
    }
    input.addEventListener("change", function () {
      if (!error || !tooLarge()) return;
      error.textContent = input.dataset.tooLarge;
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      if (help.indexOf(error.id) < 0) input.setAttribute("aria-describedby", help + " " + error.id);
    });
    input.form.addEventListener("submit", function (event) {
      if (!tooLarge()) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      input.focus();
    });
  });
})();
