// While a sync runs, asks for the dashboard's sync line every second and
// shows it, instead of reloading the whole page each time; when the sync has
// ended, reloads once to show what it read.
"use strict";
(function () {
  var line = document.getElementById("sync-status");
  if (!line || !line.hasAttribute("data-running")) return;
  document.documentElement.classList.add("js");
  function poll() {
    fetch(line.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.ok) throw new Error(answer.status);
        return answer.json();
      })
      .then(function (status) {
        line.innerHTML = status.html;  // rendered and escaped by the server
        if (status.running) { setTimeout(poll, 1000); return; }
        line.removeAttribute("data-running");
        var button = document.querySelector("[data-testid=sync-now]");
        if (button) button.disabled = false;
        // Once, now that it has ended: the members, usage and charts it read.
        window.location.reload();
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
