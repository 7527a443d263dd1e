/* The self-service terminal (/kiosk): scan or type a code on the start screen, read its page in a frame under a
 * large "back" button, and return to the start screen by itself when nobody has touched it for a while.
 *
 * The product page is shown in a same-origin frame, so the idle timer sees touches inside it and the page is
 * enlarged for the terminal (the "in-kiosk" class, styled in site.css) without the resolver knowing about kiosks.
 * Without JavaScript the form still works: it opens the page in the window itself.
 */
(function () {
  "use strict";

  var settings = JSON.parse(document.getElementById("kiosk-settings").textContent);
  var start = document.getElementById("kiosk-start");
  var result = document.getElementById("kiosk-result");
  var frame = document.getElementById("kiosk-frame");
  var back = document.getElementById("kiosk-back");
  var notice = document.getElementById("kiosk-idle");
  var form = document.getElementById("kiosk-form");
  var input = document.getElementById("kiosk-form-code");
  var scannerElement = document.getElementById("kiosk-scanner");
  var scanner = scannerElement.scanner;
  var idleMs = settings.idle * 1000;
  var warnMs = Math.min(settings.warn * 1000, idleMs / 2);
  var lastActivity = Date.now();
  var ACTIVITY = ["pointerdown", "keydown", "touchstart", "wheel", "scroll", "input"];

  function touched() {
    lastActivity = Date.now();
    notice.textContent = "";
  }

  function watch(target) {
    ACTIVITY.forEach(function (name) { target.addEventListener(name, touched, {passive: true, capture: true}); });
  }

  // After going back to the start screen, the code that was showing is ignored for a while: the package may
  // still be in front of the camera, and the terminal must not reopen it at once.
  var REPEAT_PAUSE_MS = 10000;
  var lastTarget = null;
  var resetAt = 0;

  function show(target) {
    touched();
    if (target) lastTarget = target;
    scanner.stop();
    start.hidden = true;
    result.hidden = false;
    if (target) frame.src = target;
    back.focus();
  }

  function reset() {
    resetAt = Date.now();
    frame.src = "about:blank";
    result.hidden = true;
    start.hidden = false;
    input.value = "";
    input.removeAttribute("aria-invalid");
    notice.textContent = "";
    touched();
    scanner.start();
  }

  // The form opens its page in the frame; the scanner's codes too.
  form.target = "kiosk-frame";
  form.addEventListener("submit", function () { show(null); });
  scannerElement.addEventListener("trace:code", function (event) {
    if (event.detail.target === null) return;
    event.preventDefault();
    var pause = REPEAT_PAUSE_MS - (Date.now() - resetAt);
    if (event.detail.target === lastTarget && pause > 0) {
      // The scanner stops on every code it reads; look again once the pause is over.
      setTimeout(function () { if (result.hidden) scanner.start(); }, pause);
      return;
    }
    show(event.detail.target);
  });
  back.addEventListener("click", reset);

  // Each page loaded in the frame is enlarged for the terminal and watched for touches.
  frame.addEventListener("load", function () {
    var document_;
    try { document_ = frame.contentDocument; } catch (error) { return; }
    if (!document_ || !document_.documentElement) return;
    document_.documentElement.classList.add("in-kiosk");
    watch(document_);
  });

  document.querySelectorAll(".keypad [data-key]").forEach(function (key) {
    key.addEventListener("click", function () {
      var value = key.dataset.key;
      if (value === "clear") input.value = "";
      else if (value === "back") input.value = input.value.slice(0, -1);
      else input.value += value;
      input.focus();
    });
  });

  watch(document);
  // Idle: warn a few seconds ahead, then go back to the start screen and forget what was typed or shown.
  setInterval(function () {
    var busy = !result.hidden || input.value !== "";
    if (!busy) return;
    var left = idleMs - (Date.now() - lastActivity);
    if (left <= 0) reset();
    else if (left <= warnMs) notice.textContent = settings.returning.replace("{seconds}", Math.ceil(left / 1000));
  }, 500);

  window.traceKiosk = {reset: reset, show: show};
})();
