/* The complaints routed to this enterprise (GET /api/v1/enterprises/{code}/complaints) and answering one
 * (POST …/complaints/{ticket}/replies). Only what that API gives is shown: never the complainant's contact. */
import {OfflineError, apiFetch} from "./core.js";
import {ApiError, activeDevice, fill, listAll, say, text} from "./actions-common.js";

const $ = (selector, root = document) => root.querySelector(selector);

function localTime(value) {
  return new Date(value).toLocaleString(document.documentElement.lang, {dateStyle: "medium", timeStyle: "short"});
}

export async function complaintsPage(form, status) {
  const device = await activeDevice(status);
  if (!device) return;
  const list = $("#complaints-list");
  const base = `/api/v1/enterprises/${device.creditCode}/complaints`;
  const rows = await listAll(base, "complaints");
  if (!rows.length) {
    const empty = document.createElement("p");
    empty.className = "muted";
    empty.textContent = text.form.no_complaints;
    list.append(empty);
  }
  for (const row of rows) {
    const item = $("#complaint-row").content.firstElementChild.cloneNode(true);
    item.dataset.ticket = row.ticket;
    $(".complaint-ticket", item).textContent = row.ticket;
    $(".complaint-status", item).textContent = text.complaint_statuses[row.status] || row.status;
    $(".complaint-status", item).classList.add(row.overdue ? "badge-danger" : "badge-neutral");
    $(".complaint-what", item).textContent =
      `${row.product_name || row.batch} · ${text.complaint_categories[row.category] || row.category}`;
    $(".complaint-batch", item).textContent = row.batch;
    $(".complaint-filed", item).textContent = localTime(row.filed_at);
    $(".complaint-due", item).textContent = localTime(row.due_at);
    $("summary", item).addEventListener("click", () => open(item, row.ticket));
    list.append(item);
  }

  async function open(item, ticket) {
    if (item.dataset.loaded) return;
    item.dataset.loaded = "true";
    const answer = await apiFetch("GET", `${base}/${ticket}`);
    if (answer.status !== 200) throw new ApiError(answer.status, answer.json);
    const complaint = answer.json;
    $(".complaint-description", item).textContent = complaint.description;
    const photos = $(".complaint-photos-count", item);
    photos.textContent = complaint.photos.length ? fill(text.form.photos, {count: complaint.photos.length}) : "";
    photos.hidden = !complaint.photos.length;
    showPhotos($(".complaint-photos", item), `${base}/${ticket}/photos`, complaint.photos);
    renderReplies($(".complaint-replies", item), complaint.replies);
    const reply = $("form", item);
    reply.addEventListener("submit", async (event) => {
      event.preventDefault();
      const field = $("textarea", reply);
      const problem = $(".act-error", reply);
      say(problem, "");
      if (!field.value.trim()) {
        say(problem, text.form.required, true);
        return;
      }
      const sent = await apiFetch("POST", `${base}/${ticket}/replies`, {body: field.value.trim()});
      if (sent.status !== 201) {
        const error = new ApiError(sent.status, sent.json);
        say(problem, error.message, true);
        return;
      }
      complaint.replies.push(sent.json);
      renderReplies($(".complaint-replies", item), complaint.replies);
      field.value = "";
      say($(".act-outcome", reply), text.form.reply_sent);
    });
  }
}

/** The complaint's photos as thumbnails, drawn on canvases (the pages' content security policy allows no blob:
 * images); a tap shows one at full width. A photo that does not load, or any once the network is gone, is left
 * out: the count above still says it exists. */
async function showPhotos(container, path, photos) {
  for (const photo of photos) {
    let answer;
    try {
      answer = await apiFetch("GET", `${path}/${photo.position}`, undefined, {binary: true});
    } catch (error) {
      if (error instanceof OfflineError) return;
      throw error;
    }
    if (answer.status !== 200) continue;
    const bitmap = await createImageBitmap(answer.blob);
    const canvas = document.createElement("canvas");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", fill(text.form.photo, {number: photo.position + 1}));
    canvas.tabIndex = 0;
    const enlarge = () => canvas.classList.toggle("complaint-photo-large");
    canvas.addEventListener("click", enlarge);
    canvas.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        enlarge();
      }
    });
    container.append(canvas);
    container.hidden = false;
  }
}

function renderReplies(list, replies) {
  list.replaceChildren(...replies.filter((reply) => reply.body).map((reply) => {
    const entry = document.createElement("li");
    const when = document.createElement("small");
    when.className = "muted";
    when.textContent = `${reply.author_kind === "enterprise" ? reply.author : reply.author_kind} · ` +
      localTime(reply.created_at);
    const words = document.createElement("p");
    words.textContent = reply.body;
    entry.append(when, words);
    return entry;
  }));
}
