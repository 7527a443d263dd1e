/* The in-browser QR scanner of /scan and /kiosk.
 *
 * The camera comes from getUserMedia (the rear camera when there is one). Frames are decoded by the browser's own
 * BarcodeDetector where it reads QR codes, otherwise by the bundled jsQR (static/vendor/jsQR.js, loaded only then).
 * A GS1 Digital Link from any host is resolved here: the browser goes to its path from the primary key on. Other
 * codes that look like product codes go to /lookup, which explains what is wrong with them; anything else is shown
 * as read. Each outcome is announced on the scanner element as a cancelable "trace:code" event (detail: text and
 * target), so the kiosk can open the page in its own frame instead.
 *
 * Every message comes translated from the page (<script type="application/json" id="{scanner id}-messages">).
 */
(function () {
  "use strict";

  var FRAME_INTERVAL_MS = 200;   // about five decodes a second: quick enough for a hand, easy on a cheap phone
  var MAX_DECODE_WIDTH = 640;    // frames are scaled down to this before jsQR looks at them

  /* Where a read text leads: a local path for a Digital Link or a code-looking text, else null. */
  function targetOf(text) {
    var url = null;
    if (/^https?:\/\//i.test(text)) {
      try { url = new URL(text); } catch (error) { url = null; }
    }
    if (url) {
      var segments = url.pathname.split("/");
      for (var i = 1; i + 1 < segments.length; i++) {
        if ((segments[i] === "01" || segments[i] === "00") && /^[0-9]+$/.test(segments[i + 1])) {
          return "/" + segments.slice(i).join("/") + url.search;
        }
      }
      return null;
    }
    var compact = text.replace(/\s+/g, "");
    if (compact.length <= 200 && /^(\]..)?[(0-9]/.test(compact) && /^[\x1d -~]+$/.test(text)) {
      return "/lookup?code=" + encodeURIComponent(text);
    }
    return null;
  }

  function Scanner(element) {
    this.element = element;
    this.video = element.querySelector("video");
    this.status = element.querySelector(".scan-status");
    this.read = element.querySelector(".scan-read");
    this.retry = element.querySelector(".scan-retry");
    var messages = document.getElementById(element.id + "-messages");
    this.messages = messages ? JSON.parse(messages.textContent) : {};
    this.stream = null;
    this.timer = null;
    this.engine = null;
    this.detector = null;
    this.canvas = null;
    this.lastText = null;
    this.state = "idle";
    var self = this;
    this.retry.addEventListener("click", function () { self.start(); });
  }

  Scanner.prototype.say = function (key, problem) {
    this.status.textContent = this.messages[key] || key;
    this.status.classList.toggle("field-error", Boolean(problem));
    this.element.classList.toggle("scanner-failed", Boolean(problem));
    this.retry.hidden = !problem || key === "insecure" || key === "unsupported";
  };

  Scanner.prototype.start = async function () {
    if (this.state === "starting" || this.state === "running") return;
    this.state = "starting";
    this.read.hidden = true;
    this.lastText = null;
    this.say("starting");
    if (!window.isSecureContext) return this.fail("insecure");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return this.fail("unsupported");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: {facingMode: {ideal: "environment"}, width: {ideal: 1280}, height: {ideal: 720}}
      });
    } catch (error) {
      return this.fail(cameraProblem(error));
    }
    if (this.state !== "starting") { this.release(); return; }   // stopped while the permission prompt was open
    this.video.srcObject = this.stream;
    try {
      await this.video.play();
      await this.prepareEngine();
    } catch (error) {
      this.release();
      return this.fail(error && error.message === "decoder" ? "decoder_failed" : "failed");
    }
    if (this.state !== "starting") { this.release(); return; }
    this.state = "running";
    this.element.classList.add("scanner-running");
    this.element.dataset.engine = this.engine;
    this.say("scanning");
    this.schedule();
  };

  Scanner.prototype.fail = function (key) {
    this.state = "failed";
    this.element.dataset.problem = key;
    this.say(key, true);
  };

  Scanner.prototype.stop = function () {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.release();
    this.state = "idle";
  };

  Scanner.prototype.release = function () {
    if (this.stream) this.stream.getTracks().forEach(function (track) { track.stop(); });
    this.stream = null;
    this.video.srcObject = null;
    this.element.classList.remove("scanner-running");
  };

  Scanner.prototype.prepareEngine = async function () {
    if (this.engine) return;
    if ("BarcodeDetector" in window) {
      try {
        var formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.indexOf("qr_code") >= 0) {
          this.detector = new window.BarcodeDetector({formats: ["qr_code"]});
          this.engine = "BarcodeDetector";
          return;
        }
      } catch (error) { /* fall back to the bundled decoder */ }
    }
    if (!window.jsQR) await loadScript(this.element.dataset.decoder);
    if (!window.jsQR) throw new Error("decoder");
    this.canvas = document.createElement("canvas");
    this.engine = "jsQR";
  };

  Scanner.prototype.schedule = function () {
    var self = this;
    this.timer = setTimeout(function () { self.tick(); }, FRAME_INTERVAL_MS);
  };

  Scanner.prototype.tick = async function () {
    this.timer = null;
    if (this.state !== "running") return;
    var text = null;
    if (this.video.readyState >= 2 && this.video.videoWidth > 0) {
      try { text = await this.decode(); } catch (error) { text = null; }
    }
    if (this.state !== "running") return;
    if (text && text !== this.lastText) {
      this.lastText = text;
      if (this.found(text)) return;
    }
    this.schedule();
  };

  Scanner.prototype.decode = async function () {
    if (this.engine === "BarcodeDetector") {
      var codes = await this.detector.detect(this.video);
      return codes.length ? codes[0].rawValue : null;
    }
    var scale = Math.min(1, MAX_DECODE_WIDTH / this.video.videoWidth);
    var width = Math.round(this.video.videoWidth * scale);
    var height = Math.round(this.video.videoHeight * scale);
    this.canvas.width = width;
    this.canvas.height = height;
    var context = this.canvas.getContext("2d", {willReadFrequently: true});
    context.drawImage(this.video, 0, 0, width, height);
    var image = context.getImageData(0, 0, width, height);
    var code = window.jsQR(image.data, width, height, {inversionAttempts: "dontInvert"});
    return code ? code.data : null;
  };

  /* A code was read: announce it, then open its page unless a listener took it. True when scanning should stop. */
  Scanner.prototype.found = function (text) {
    var target = targetOf(text);
    var event = new CustomEvent("trace:code", {cancelable: true, detail: {text: text, target: target}});
    var proceed = this.element.dispatchEvent(event);
    if (target === null) {
      this.read.hidden = false;
      this.read.querySelector("code").textContent = text;
      this.say("not_a_code");
      return false;
    }
    this.say("opening");
    this.stop();
    if (proceed) window.location.assign(target);
    return true;
  };

  function cameraProblem(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "denied";
    if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
      return "no_camera";
    }
    if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return "busy";
    return "failed";
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = function () { reject(new Error("decoder")); };
      document.head.appendChild(script);
    });
  }

  var scanners = [];
  document.querySelectorAll("[data-scanner]").forEach(function (element) {
    var scanner = new Scanner(element);
    element.scanner = scanner;
    scanners.push(scanner);
    if (element.dataset.autostart !== "false") scanner.start();
  });
  // Give the camera back when the page is hidden (another tab, the phone locked), take it again on return.
  document.addEventListener("visibilitychange", function () {
    scanners.forEach(function (scanner) {
      if (document.hidden && scanner.state === "running") {
        scanner.stop();
        scanner.resume = true;
      } else if (!document.hidden && scanner.resume) {
        scanner.resume = false;
        scanner.start();
      }
    });
  });
  // Back from a product's page, a page restored from the back-forward cache scans again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    scanners.forEach(function (scanner) {
      if (scanner.element.dataset.autostart !== "false" && scanner.state === "idle") scanner.start();
    });
  });
  window.traceScanner = {targetOf: targetOf, scanners: scanners};
})();
