// Live updates for milestoned's web view (the page works without it).
// Every 2 s: ask for the page again (conditional on its ETag, so an unchanged page costs a 304) and, when
// the daemon's state moved, swap each [data-live] region for the new one. No reload, focus and the search
// field are kept (they are outside the regions).
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  var version = document.body.getAttribute("data-version");
  if (!window.fetch || !window.DOMParser || !version) { return; }
  function say(text) { if (status) { status.textContent = text; } }
  function tick() {
    fetch(window.location.href, { headers: { "Accept": "text/html" }, cache: "no-cache", credentials: "omit" })
      .then(function (r) {
        if (r.status === 304) { return null; }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (text) {
        if (text === null) { return; }
        var doc = new DOMParser().parseFromString(text, "text/html");
        var fresh = doc.body.getAttribute("data-version");
        if (!fresh || fresh === version) { return; }
        var regions = document.querySelectorAll("[data-live]");
        for (var i = 0; i < regions.length; i++) {
          var next = doc.getElementById(regions[i].id);
          if (next) { regions[i].replaceWith(document.importNode(next, true)); }
        }
        version = fresh;
        document.body.setAttribute("data-version", fresh);
        say("updated " + new Date().toLocaleTimeString());
      })
      .catch(function (e) { say("live updates paused (" + e.message + "); retrying"); })
      .then(function () { window.setTimeout(tick, 2000); });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    if (!button || !navigator.clipboard) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (source) { navigator.clipboard.writeText(source.textContent).then(function () { button.textContent = "copied"; }); }
  });
  var copies = document.querySelectorAll("button[data-copy]");
  for (var j = 0; j < copies.length; j++) { copies[j].hidden = !navigator.clipboard; }
  say("live: updates as blocks arrive");
  window.setTimeout(tick, 2000);
})();
