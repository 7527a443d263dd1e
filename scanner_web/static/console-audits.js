// An integrity audit's page while it runs: ask the server every second how far the audit got and show it; reload
// the page once it has finished, to show the report. Without JavaScript, reloading the page shows the same.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var bar = box.querySelector("progress");
  var text = box.querySelector(".audit-progress-text");
  var phase = box.querySelector(".audit-phase");

  function show(state) {
    if (state.total) {
      bar.max = state.total;
      bar.value = state.done;
      bar.textContent = state.percent + "%";
    } else {
      bar.removeAttribute("value");
    }
    text.textContent = state.text;
    phase.textContent = state.phase_label;
  }

  function poll() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (state) {
        if (state.finished) { window.location.reload(); return; }
        show(state);
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });  // a network hiccup: try again, more slowly
  }

  window.setTimeout(poll, 1000);
}());
