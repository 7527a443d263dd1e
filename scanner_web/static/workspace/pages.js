/* The workspace shell's scripts: on every page the header (enterprise, staff, connection and queue indicator),
 * the queue list and the queue service; on the join, home and team pages their own steps
 * (document.body.dataset.page). Everything the device does goes through core.js. */

import * as core from "./core.js";

const words = core.messages();
const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
const HOME = "/workspace/";
const POLL_MS = 2_000;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Show the sections whose `attribute` equals `value`, hide the others. */
function showOnly(attribute, value) {
  for (const section of $$(`[${attribute}]`)) section.hidden = section.getAttribute(attribute) !== value;
}

function sayError(target, code, message) {
  if (!target) return;
  target.textContent = core.errorWords(code, message);
  target.hidden = false;
}

const localTime = (text) => {
  const moment = new Date(text);
  return Number.isNaN(moment.getTime()) ? text : moment.toLocaleString(document.documentElement.lang);
};

// ---- header and queue ---------------------------------------------------------------------------------------

function showWho(device) {
  if (!device) return;
  $("[data-ws-enterprise]").textContent = device.enterpriseName || device.creditCode;
  $("[data-ws-staff]").textContent = [device.staff, device.device].filter(Boolean).join(" · ");
}

async function showIndicator() {
  const items = await core.queueItems();
  const waiting = items.filter((item) => item.state === "queued" || item.state === "sending").length;
  const refused = items.some((item) => item.state === "refused");
  const offline = !navigator.onLine;
  const indicator = $("[data-ws-indicator]");
  const parts = [];
  if (offline) parts.push(words["queue.offline"]);
  if (waiting) parts.push(core.fill(words["queue.waiting"], { count: waiting }));
  if (!parts.length) parts.push(words["queue.online"]);
  $("[data-ws-indicator-text]").textContent = parts.join(" · ");
  indicator.dataset.state = offline ? "offline" : refused ? "refused" : waiting ? "waiting" : "online";
  const badge = $("[data-ws-badge]");
  badge.textContent = String(waiting);
  badge.hidden = waiting === 0;
}

async function showQueue() {
  const list = $("[data-ws-queue-list]");
  if (!list) return;
  const items = (await core.queueItems()).reverse();  // newest first: what was just signed is on top
  $("[data-ws-queue-empty]").hidden = items.length > 0;
  list.replaceChildren(...items.map((item) => {
    const row = element("li", `ws-item ws-item-${item.state}`);
    row.dataset.state = item.state;
    row.dataset.hash = item.statementHash;
    for (const line of item.summaryLines || [item.type]) row.append(element("p", "ws-item-line", line));
    const status = element("p", "ws-item-state", words[`state.${item.state}`] || item.state);
    if (item.index !== undefined) status.append(" · ", core.fill(words.entry, { index: item.index }));
    if (item.resigned) status.append(" · ", words.resigned);
    row.append(status);
    if (item.error) row.append(element("p", "field-error ws-item-error", item.error.words || item.error.message));
    if (item.state === "refused" || item.state === "queued") {
      const discard = element("button", "button-secondary ws-discard", words.discard);
      discard.type = "button";
      discard.addEventListener("click", () => core.discardItem(item.id));
      row.append(discard);
    }
    return row;
  }));
}

function refreshQueueViews() {
  showIndicator().catch(console.error);
  showQueue().catch(console.error);
}

// ---- invites (home and join) --------------------------------------------------------------------------------

/** The invite secret in a pasted join link (or the secret itself). */
function inviteFrom(text) {
  const match = /(?:#|^)invite=([^&\s]+)/.exec(text.trim()) || /^(twi_[A-Za-z0-9_-]+)$/.exec(text.trim());
  return match ? decodeURIComponent(match[1]) : null;
}

function wirePastedInvite() {
  for (const button of $$("[data-ws-use-invite]")) {
    button.addEventListener("click", async () => {
      const secret = inviteFrom($("#ws-invite-link").value);
      if (!secret) return;
      if (document.body.dataset.page !== "join") await core.forgetDevice();
      window.location.assign(`/workspace/join${window.location.search}#invite=${encodeURIComponent(secret)}`);
      if (document.body.dataset.page === "join") window.location.reload();
    });
  }
}

// ---- join -----------------------------------------------------------------------------------------------------

function suggestedDeviceName() {
  const agent = navigator.userAgent;
  const android = /Android [^;]+; ([^;)]+?)(?: Build\/[^;)]*)?[;)]/.exec(agent);
  if (android && android[1].trim() !== "K") return android[1].trim().slice(0, 60);
  for (const [pattern, name] of [[/iPhone/, "iPhone"], [/iPad/, "iPad"], [/Android/, "Android"],
    [/Windows/, "Windows"], [/Mac OS X/, "Mac"], [/Linux/, "Linux"]]) {
    if (pattern.test(agent)) return name;
  }
  return "Phone";
}

async function waitForApproval(device) {
  showOnly("data-step", "waiting");
  const fingerprint = $("#ws-fingerprint");
  fingerprint.textContent = core.fingerprint(device.keyId);
  fingerprint.dataset.keyId = device.keyId;
  for (;;) {
    const current = await core.currentDevice();
    if (current.status === "active") {
      $("[data-ws-wait-status]").textContent = words["join.approved"];
      window.location.assign(HOME + window.location.search);
      return;
    }
    if (current.status === "rejected") {
      showOnly("data-step", "rejected");
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function joinPage(device) {
  const error = $("#ws-join-error");
  if (device && device.status === "active") {
    window.location.assign(HOME + window.location.search);
    return;
  }
  if (device && device.status === "pending") {
    await waitForApproval(device);
    return;
  }
  const secret = inviteFrom(window.location.hash);
  if (!secret) {
    showOnly("data-step", "no-invite");
    return;
  }
  let invite;
  try {
    invite = await core.readInvite(secret);
  } catch (problem) {
    showOnly("data-step", "no-invite");
    sayError(error, problem instanceof core.OfflineError ? "join.offline" : problem.code, problem.message);
    if (problem instanceof core.OfflineError) error.textContent = words["join.offline"];
    return;
  }
  $("[data-ws-invite-enterprise]").textContent = invite.enterprise_name;
  $("[data-ws-invite-staff]").textContent = invite.staff;
  // An enrolment sent before whose answer was lost is resent with the same name (the server knows it by it).
  $("#ws-device-name").value = device && device.status === "enrolling" && device.device ? device.device
    : suggestedDeviceName();
  showOnly("data-step", "start");
  $("#ws-enrol").addEventListener("click", async (event) => {
    const name = $("#ws-device-name").value.trim();
    if (!name) {
      $("#ws-device-name").focus();
      return;
    }
    event.target.disabled = true;
    error.hidden = true;
    try {
      const enrolled = await core.enrol(secret, name);
      if (enrolled.status === "active") {
        $("#ws-fingerprint").textContent = core.fingerprint(enrolled.keyId);
        window.location.assign(HOME + window.location.search);
      } else {
        await waitForApproval(enrolled);
      }
    } catch (problem) {
      event.target.disabled = false;
      if (problem instanceof core.OfflineError) error.textContent = words["join.offline"];
      else if (problem && problem.name === "NotSupportedError") error.textContent = words["join.unsupported"];
      else error.textContent = core.errorWords(problem.code, problem.message);
      error.hidden = false;
    }
  });
}

// ---- home -----------------------------------------------------------------------------------------------------

function card(lines) {
  const item = element("li", "ws-card");
  lines.forEach((line, i) => item.append(element(i === 0 ? "strong" : "span", i === 0 ? "" : "ws-card-line", line)));
  return item;
}

/** A unit code's short name in the page's language ("kg", "千克"); the code itself when there is none. */
function unitName(code) {
  return words[`unit.${code}`] || code;
}

function batchName(view, ref) {
  const batch = view.batches[ref] || {};
  const lot = batch.lot ? ` · ${batch.lot}` : batch.sscc ? ` · ${batch.sscc}` : "";
  return `${batch.product_name || ref}${lot}`;
}

function showOverview(view, cached) {
  const holdings = $("[data-ws-holdings]");
  holdings.replaceChildren(...view.holdings.map((row) => {
    const item = card([batchName(view, row.ref), core.fill(words["home.held"], { ...row, unit: unitName(row.unit) }),
      row.ref]);
    item.dataset.ref = row.ref;
    return item;
  }));
  $("[data-ws-holdings-empty]").hidden = view.holdings.length > 0;
  const shipments = $("[data-ws-shipments]");
  shipments.replaceChildren(...view.shipments.map((row) => {
    const item = card([batchName(view, row.ref), core.fill(words["home.from"], row),
      core.fill(words["home.shipped"], { ...row, index: row.ship_index })]);
    item.dataset.ref = row.ref;
    return item;
  }));
  $("[data-ws-shipments-empty]").hidden = view.shipments.length > 0;
  $("[data-ws-refreshed]").textContent = core.fill(words[cached ? "home.cached" : "home.refreshed"],
    { time: localTime(view.refreshedAt) });
}

async function homePage(device) {
  wirePastedInvite();
  for (const button of $$("[data-ws-forget]")) {
    button.addEventListener("click", async () => {
      await core.forgetDevice();
      showOnly("data-view", "none");
    });
  }
  if (!device) {
    showOnly("data-view", "none");
    return;
  }
  if (device.status === "pending" || device.status === "enrolling") {
    showOnly("data-view", "pending");
    $("[data-ws-fingerprint]").textContent = core.fingerprint(device.keyId);
    setTimeout(() => window.location.reload(), POLL_MS * 5);
    return;
  }
  if (device.status !== "active") {
    showOnly("data-view", device.status === "rejected" ? "rejected" : "revoked");
    return;
  }
  showOnly("data-view", "active");
  // Holdings change when a statement is accepted: show them again then.
  const acceptedCount = async () => (await core.queueItems()).filter((item) => item.state === "accepted").length;
  let accepted = await acceptedCount();
  core.onQueueChange(async () => {
    const now = await acceptedCount();
    if (now === accepted) return;
    accepted = now;
    const fresh = await core.overview();
    if (fresh) showOverview(fresh, !navigator.onLine);
  });
  const view = await core.overview();
  if (view) showOverview(view, !navigator.onLine);
}

// ---- team -----------------------------------------------------------------------------------------------------

async function revoke(device, target) {
  const line = core.fill(words["devices.revoke_line"], { fingerprint: core.fingerprint(target.key_id),
    staff: target.staff, device: target.device });
  const drafts = await core.draft([{ type: "ledger.key.revoke",
    body: { subject: device.creditCode, key: target.key_id, reason: words["devices.revoke_reason"] } }]);
  if (drafts[0].error) {
    sayError($("[data-ws-error]"), drafts[0].error.code, drafts[0].error.message);
    return;
  }
  const items = await core.confirmSignQueue(drafts, [[line]]);
  if (items) {
    await core.flushQueue({ manual: true });
    window.location.reload();
  }
}

function deviceCard(device, row, isAdmin) {
  const item = card([`${row.staff} · ${row.device}`,
    `${words[`devices.role.${row.role}`] || row.role} · ${words[`devices.status.${row.status}`] || row.status}` +
    (row.key_id === device.keyId ? ` · ${words["devices.this_phone"]}` : ""),
    core.fingerprint(row.key_id)]);
  item.dataset.keyId = row.key_id;
  item.lastChild.classList.add("ws-fingerprint");
  const buttons = element("div", "ws-card-actions");
  const add = (label, style, action) => {
    const button = element("button", style, words[label]);
    button.type = "button";
    button.dataset.action = label.split(".")[1];
    button.addEventListener("click", () => action().catch((problem) => sayError($("[data-ws-error]"),
      problem.code, problem.message)));
    buttons.append(button);
  };
  if (isAdmin && row.status === "pending") {
    item.append(element("p", "ws-hint", words["devices.compare"]));
    add("devices.approve", "", () => decide(device, row, "approve"));
    add("devices.reject", "button-secondary", () => decide(device, row, "reject"));
  }
  if (row.status === "active" && isAdmin && row.key_id !== device.keyId) {  // this phone: "revoke my key" above
    add("devices.revoke", "button-danger", () => revoke(device, row));
  }
  if (buttons.childElementCount) item.append(buttons);
  return item;
}

async function decide(device, row, decision) {
  const body = decision === "reject" ? { reason: words["devices.reject_reason"] } : {};
  const answer = await core.apiFetch("POST",
    `/api/v1/enterprises/${encodeURIComponent(device.creditCode)}/devices/${row.key_id}/${decision}`, body);
  if (answer.status !== 200) throw new core.ApiError(answer.status, answer.json);
  await showDevices(device);
}

async function showInvite(device) {
  const staff = $("#ws-invite-staff").value.trim();
  if (!staff) {
    $("#ws-invite-staff").focus();
    return;
  }
  const answer = await core.apiFetch("POST", `/api/v1/enterprises/${encodeURIComponent(device.creditCode)}/invites`,
    { staff, role: "staff" });
  if (answer.status !== 201) throw new core.ApiError(answer.status, answer.json);
  const link = new URL(answer.json.join_url, window.location.origin).href;
  $("[data-ws-invite-link]").textContent = link;
  const qr = await fetch("/workspace/qr.svg", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text: link }) });
  const svg = new DOMParser().parseFromString(await qr.text(), "image/svg+xml").documentElement;
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", link);
  $("[data-ws-invite-qr]").replaceChildren(document.importNode(svg, true));
  const result = $("[data-ws-invite-result]");
  result.hidden = false;
  result.scrollIntoView({ block: "center" });  // below the fold on a phone, and the code must be scanned whole
}

let shownDevices = null;

/** The pending and the other devices, drawn again only when they changed (a button under a finger stays). */
async function showDevices(device) {
  const answer = await core.apiFetch("GET", `/api/v1/enterprises/${encodeURIComponent(device.creditCode)}/devices`);
  if (answer.status !== 200) throw new core.ApiError(answer.status, answer.json);
  const rows = answer.json.devices;
  const seen = JSON.stringify(rows);
  if (seen === shownDevices) return;
  shownDevices = seen;
  const pending = rows.filter((row) => row.status === "pending");
  $("[data-ws-pending]").replaceChildren(...pending.map((row) => deviceCard(device, row, true)));
  $("[data-ws-pending-empty]").hidden = pending.length > 0;
  $("[data-ws-devices]").replaceChildren(...rows.filter((row) => row.status !== "pending")
    .map((row) => deviceCard(device, row, true)));
}

/** While the team page is open, a phone that enrols appears by itself: the administrator waits for it here. */
function watchDevices(device) {
  setTimeout(async () => {
    if (!document.hidden && navigator.onLine) await showDevices(device).catch(() => null);
    watchDevices(device);
  }, POLL_MS);
}

async function devicesPage(device) {
  if (!device || device.status === "enrolling") {
    $("[data-ws-none]").hidden = false;
    return;
  }
  $("[data-ws-own]").hidden = device.status !== "active";
  $("[data-ws-own-label]").textContent = `${device.staff} · ${device.device}`;
  $("[data-ws-own-fingerprint]").textContent = core.fingerprint(device.keyId);
  const own = $("[data-ws-revoke-own]");
  own.onclick = () => revoke(device, { key_id: device.keyId, staff: device.staff, device: device.device })
    .catch((problem) => sayError($("[data-ws-error]"), problem.code, problem.message));
  if (device.status !== "active" || !device.isAdmin) return;
  $("[data-ws-admin]").hidden = false;
  $("[data-ws-invite]").addEventListener("click", () => showInvite(device).catch((problem) =>
    sayError($("[data-ws-error]"), problem.code, problem.message)));
  await showDevices(device);
  watchDevices(device);
}

// ---- start ----------------------------------------------------------------------------------------------------

async function start() {
  core.onQueueChange(refreshQueueViews);
  window.addEventListener("online", refreshQueueViews);
  window.addEventListener("offline", refreshQueueViews);
  const sendNow = $("[data-ws-send-now]");
  if (sendNow) sendNow.addEventListener("click", () => core.flushQueue({ manual: true }).catch(console.error));
  refreshQueueViews();
  const device = await core.currentDevice();
  showWho(device);
  if (device && device.status === "active") core.startQueueService();
  const page = document.body.dataset.page;
  if (page === "join") await joinPage(device);
  else if (page === "home") await homePage(device);
  else if (page === "devices") await devicesPage(device);
  document.body.dataset.ready = "true";
}

start().catch((problem) => {
  console.error(problem);
  document.body.dataset.ready = "error";
});
