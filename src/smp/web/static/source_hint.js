// An input with data-default-from="FILE-INPUT-ID": once a file is chosen, its
// placeholder shows the file's name without extension, the default it stands for.
"use strict";
(function () {
  document.querySelectorAll("input[data-default-from]").forEach(function (input) {
    var file = document.getElementById(input.dataset.defaultFrom);
    if (!file) return;
    file.addEventListener("change", function () {
      var chosen = file.files && file.files[0];
      var name = chosen ? chosen.name.replace(/^.*[\\/]/, "") : "";
      input.placeholder = name.indexOf(".") > 0 ? name.slice(0, name.lastIndexOf(".")) : name;
    });
  });
})();
