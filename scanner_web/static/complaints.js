// Complaint form: check the photos' number and sizes before they are sent, so a phone on a slow network does not
// upload megabytes only to be told to start again. The server checks everything again.
(function () {
  "use strict";
  var form = document.querySelector("form.complaint-form");
  if (!form) { return; }
  var input = form.querySelector("input[type=file]");
  var message = document.getElementById("photo-check");
  var maxPhotos = parseInt(form.dataset.maxPhotos, 10);
  var maxBytes = parseInt(form.dataset.maxPhotoMb, 10) * 1024 * 1024;

  function problem() {
    var files = input.files || [];
    if (files.length > maxPhotos) { return form.dataset.tooMany; }
    for (var i = 0; i < files.length; i++) {
      if (files[i].size > maxBytes) { return form.dataset.tooLarge + " " + files[i].name; }
    }
    return "";
  }

  function show() {
    var text = problem();
    message.textContent = text;
    message.hidden = !text;
    input.setAttribute("aria-invalid", text ? "true" : "false");
    return !text;
  }

  var button = form.querySelector("button[type=submit]");
  input.addEventListener("change", show);
  form.addEventListener("submit", function (event) {
    if (!show()) { event.preventDefault(); input.focus(); return; }
    button.disabled = true;  // one complaint per tap, however slow the upload
  });
  window.addEventListener("pageshow", function () { button.disabled = false; });  // back from the next page
}());
