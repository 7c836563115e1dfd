// Live letter counts on the outcome letters page (progressive enhancement: the page
// states the counts when it is loaded, and works without this). While letters are
// waiting, ask the server every few seconds and update the numbers in place.
(function () {
  "use strict";
  var box = document.getElementById("delivery");
  if (!box || !window.fetch) { return; }
  var hint = box.querySelector("[data-static-hint]");
  if (hint) { hint.textContent = "These counts update by themselves."; }
  var tries = 0;
  function refresh() {
    tries += 1;
    fetch(box.getAttribute("data-poll"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (counts) {
        if (!counts) { return; }
        ["sent", "waiting", "failed"].forEach(function (name) {
          var el = box.querySelector('[data-count="' + name + '"]');
          if (el && String(counts[name]) !== el.textContent) { el.textContent = counts[name]; }
        });
        if (counts.waiting > 0 && tries < 200) { window.setTimeout(refresh, 3000); }
      })
      .catch(function () { if (tries < 200) { window.setTimeout(refresh, 10000); } });
  }
  var waiting = box.querySelector('[data-count="waiting"]');
  if (waiting && waiting.textContent !== "0") { window.setTimeout(refresh, 3000); }
})();
