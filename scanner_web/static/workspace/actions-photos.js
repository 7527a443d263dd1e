/* Certificate and report photos: each chosen or taken photo is drawn into a canvas and re-encoded as JPEG, which
 * leaves its EXIF data (camera, time, GPS position) behind; the SHA-256 of the re-encoded bytes is what the
 * statement carries, and those exact bytes are uploaded to the enterprise's documents
 * (POST /api/v1/enterprises/{code}/documents), so anyone allowed to see the document can check it against the
 * ledger. ``createImageBitmap`` reads the file without an <img>, so the pages need no blob: images.
 */
import {apiFetch, sha256Hex} from "./core.js";
import {ApiError, fill, text} from "./actions-common.js";

/** Longest side of a re-encoded photo: a certificate stays legible, the upload stays small on a poor network. */
const MAX_SIDE = 2000;
const QUALITY = 0.85;

/** ``{bytes, sha256, width, height, canvas}`` of ``file`` re-encoded as JPEG without metadata. */
export async function reencode(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, {imageOrientation: "from-image"});
  } catch (error) {
    throw new Error(fill(text.form.photo_failed, {name: file.name}));
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";   // a transparent PNG becomes white, not black
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
  const bytes = new Uint8Array(await blob.arrayBuffer());
  return {bytes, sha256: await sha256Hex(bytes), width: canvas.width, height: canvas.height, canvas};
}

/** Store the re-encoded photo with the enterprise; resolves to its SHA-256 as the server computed it. */
export async function upload(device, photo) {
  const answer = await apiFetch("POST", `/api/v1/enterprises/${device.creditCode}/documents`,
                                new Blob([photo.bytes], {type: "image/jpeg"}));
  if (answer.status !== 200 && answer.status !== 201) throw new ApiError(answer.status, answer.json);
  if (answer.json.sha256 !== photo.sha256) {
    throw new Error(`the server stored ${answer.json.sha256}, the page hashed ${photo.sha256}`);
  }
  return answer.json.sha256;
}

/** A small preview of the photo for the list under its field. */
export function thumbnail(photo, side = 96) {
  const canvas = document.createElement("canvas");
  const scale = side / Math.max(photo.width, photo.height);
  canvas.width = Math.round(photo.width * scale);
  canvas.height = Math.round(photo.height * scale);
  canvas.getContext("2d").drawImage(photo.canvas, 0, 0, canvas.width, canvas.height);
  canvas.className = "act-thumb";
  return canvas;
}

/**
 * A photo list bound to ``<input type=file>`` ``input`` and a list element ``list``; with ``kinds`` each photo
 * gets a kind ``<select>`` (default ``defaultKind``). ``photos()`` gives ``[{photo, kind}]`` in order.
 */
export function photoList(input, list, {kinds = null, defaultKind = "other", single = false} = {}) {
  const chosen = [];
  const render = () => {
    list.replaceChildren(...chosen.map((entry, position) => {
      const item = document.createElement("li");
      item.className = "act-photo";
      item.append(thumbnail(entry.photo));
      if (kinds) {
        const select = document.createElement("select");
        select.setAttribute("aria-label", input.dataset.kindLabel || "kind");
        for (const [value, label] of Object.entries(kinds)) select.append(new Option(label, value));
        select.value = entry.kind;
        select.addEventListener("change", () => { entry.kind = select.value; });
        item.append(select);
      }
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button-secondary act-remove";
      remove.textContent = input.dataset.removeLabel || "×";
      remove.addEventListener("click", () => { chosen.splice(position, 1); render(); });
      item.append(remove);
      return item;
    }));
  };
  input.addEventListener("change", async () => {
    const status = input.closest("fieldset, .act-field").querySelector(".act-photo-status");
    if (status) { status.textContent = ""; status.hidden = true; }
    for (const file of Array.from(input.files)) {
      try {
        const photo = await reencode(file);
        if (single) chosen.length = 0;
        chosen.push({photo, kind: defaultKind});
      } catch (error) {
        if (status) { status.textContent = error.message; status.hidden = false; }
      }
    }
    input.value = "";
    render();
  });
  return {
    photos: () => chosen.slice(),
    setDefaultKind: (kind) => { defaultKind = kind; },
    clear: () => { chosen.length = 0; render(); },
  };
}
