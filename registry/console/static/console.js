// Idle sign-out in the browser, matching the server's session timeout: a
// minute before it, a warning with a button to stay signed in; at the end,
// the page is replaced by the sign-in page, so nothing stays on screen.
// Without JavaScript the server still ends the session; only the screen stays.
(function () {
  "use strict";
  // After a refused form, take keyboard and screen-reader users to the list of errors.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  var box = document.getElementById("idle-warning");
  if (!box) { return; }
  var idle = parseInt(box.getAttribute("data-idle-seconds"), 10) * 1000;
  var warnTimer = null;
  var endTimer = null;
  function arm() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    box.hidden = true;
    if (idle > 60000) {
      warnTimer = setTimeout(function () {
        box.hidden = false;
        document.getElementById("idle-stay").focus();
      }, idle - 60000);
    }
    endTimer = setTimeout(function () {
      window.location.replace("/signin?idle=1");
    }, idle + 2000);
  }
  document.getElementById("idle-stay").addEventListener("click", function () {
    // Any signed-in request restarts the session's idle clock.
    fetch("/keepalive", {credentials: "same-origin", cache: "no-store"}).then(function (r) {
      if (r.ok && !r.redirected) { arm(); } else { window.location.replace("/signin?idle=1"); }
    });
  });
  arm();
})();

// Live parts (the fleet dashboard, an order's page): a server-sent event
// stream (registry/console/live.py) sends the re-rendered parts whenever the
// registry's data changed; each part carries the id of the element it refills.
// Without JavaScript the page is still correct, only as old as its last load.
(function () {
  "use strict";
  var part = document.querySelector("[data-live]");
  if (!part || !window.EventSource) { return; }
  var source = new EventSource(part.getAttribute("data-live"));
  source.addEventListener(part.getAttribute("data-live-event"), function (event) {
    var fresh = document.createElement("template");  // inert: nothing loads or runs
    fresh.innerHTML = event.data;
    Array.prototype.forEach.call(fresh.content.children, function (piece) {
      var old = piece.id ? document.getElementById(piece.id) : null;
      if (old) { old.innerHTML = piece.innerHTML; }  // the element stays: aria-live follows
    });
    part.setAttribute("data-updated", String(Date.now()));
  });
  source.addEventListener("signedout", function () {
    source.close();
    window.location.replace("/signin?idle=1");
  });
})();
