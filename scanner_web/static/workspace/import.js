// The CSV import page: upload the file with a request signed by this device's key, show every bad row or a
// summary of what will be signed, sign every draft here and submit them in one atomic batch (all or nothing).
import { OfflineError, apiFetch, currentDevice, errorWords, fill, flushQueue, queueItems, signDrafts } from "./core.js";

const data = JSON.parse(document.getElementById("import-data").textContent);
const words = data.messages;
const form = document.getElementById("import-form");
const typeSelect = document.getElementById("import-type");
const templateLink = document.getElementById("import-template");
const fileInput = document.getElementById("import-file");
const status = document.querySelector(".act-status");
const problem = document.querySelector(".act-error");
const reportBox = document.getElementById("import-report");
const summaryBox = document.getElementById("import-summary");
const signButton = document.getElementById("import-sign");
const outcome = document.querySelector(".act-outcome");
let pending = null;  // {drafts, rows} of a file ready to sign

for (const item of data.types) {
  const option = document.createElement("option");
  option.value = item.type;
  option.textContent = item.name;
  typeSelect.append(option);
}
const selected = () => data.types.find((item) => item.type === typeSelect.value);
function showTemplate() {
  templateLink.href = selected().template;
  templateLink.setAttribute("download", `${selected().type}.csv`);
}
showTemplate();

function reset() {
  pending = null;
  for (const element of [reportBox, summaryBox, outcome, problem]) element.hidden = true;
  status.textContent = "";
}

function say(element, text) {
  element.textContent = text;
  element.hidden = false;
}

/** A report row's column: its name and its Chinese title, as the template's header may use either. */
function columnCell(column) {
  const cell = document.createElement("td");
  cell.textContent = column || "";
  const alias = column ? selected().columns[column] : null;
  if (alias) {
    const title = document.createElement("small");
    title.className = "import-alias";
    title.textContent = alias;
    cell.append(title);
  }
  return cell;
}

/** A report row's reason: the plain words for its code, and below them the server's reason, which names the
 * cell's value (for a refusal by the traceability rules, the plain words alone). */
function reasonCell(error) {
  const cell = document.createElement("td");
  const plain = data.reasons[error.code];
  const main = document.createElement("span");
  main.className = "import-reason";
  main.textContent = plain || errorWords(error.code, error.reason);
  cell.append(main);
  if (plain && error.reason) {
    const detail = document.createElement("small");
    detail.className = "import-detail";
    detail.textContent = error.reason;
    cell.append(detail);
  }
  return cell;
}

function showProblems(errors) {
  const body = reportBox.querySelector("tbody");
  body.replaceChildren(...errors.map((error) => {
    const row = document.createElement("tr");
    row.dataset.code = error.code;
    const number = document.createElement("td");
    number.textContent = error.row === null ? words.whole_file : String(error.row);
    row.append(number, columnCell(error.column), reasonCell(error));
    return row;
  }));
  reportBox.hidden = false;
  say(status, fill(words.problems, { count: errors.length }));
  status.scrollIntoView({ block: "start", behavior: "instant" });
}

function showSummary(report) {
  const lines = [fill(words.summary, { rows: report.rows, count: report.drafts.length, noun: selected().noun })];
  for (const [unit, quantity] of Object.entries(report.totals)) {
    lines.push(fill(words.total, { quantity, unit: data.units[unit] || unit }));
  }
  summaryBox.querySelector("ul").replaceChildren(...lines.map((line) => {
    const item = document.createElement("li");
    item.textContent = line;
    return item;
  }));
  summaryBox.hidden = false;
  say(status, words.ready);
  status.scrollIntoView({ block: "start", behavior: "instant" });
}

async function check() {
  reset();
  const file = fileInput.files[0];
  if (!file) return;
  if (file.size > data.maxBytes) return say(problem, fill(words.too_large, { size: data.maxBytes / (1024 * 1024) }));
  const device = await currentDevice();
  if (!device || device.status !== "active") return say(problem, words.no_device);
  say(status, words.checking);
  if ((await queueItems()).some((item) => item.state === "queued")) {
    // The drafts chain on the committed ledger: statements still waiting on this phone go first.
    await flushQueue().catch((error) => { if (!(error instanceof OfflineError)) throw error; });
  }
  const path = `/api/v1/enterprises/${encodeURIComponent(device.creditCode)}/imports?type=${encodeURIComponent(selected().type)}`;
  let answer;
  try {
    answer = await apiFetch("POST", path, new Blob([await file.arrayBuffer()], { type: "text/csv" }));
  } catch (error) {
    return say(problem, error instanceof OfflineError ? words.offline : String(error.message || error));
  }
  status.textContent = "";
  if (answer.status !== 200) {
    const error = (answer.json && answer.json.error) || {};
    return say(problem, fill(words.failed, { words: errorWords(error.code, error.message) }));
  }
  if (answer.json.errors.length) return showProblems(answer.json.errors);
  pending = {
    drafts: answer.json.drafts.map((item) => ({ statement: item.statement, statementHash: item.statement_hash })),
    rows: answer.json.draft_rows,
  };
  showSummary(answer.json);
}

async function signAndSubmit() {
  if (!pending) return;
  const { drafts, rows } = pending;
  signButton.disabled = true;
  try {
    say(status, fill(words.signing, { count: drafts.length }));
    const envelopes = await signDrafts(drafts);
    say(status, words.sending);
    const answer = await apiFetch("POST", "/api/v1/events/batch", { statements: envelopes, mode: "atomic" });
    summaryBox.hidden = true;
    status.textContent = "";
    const results = (answer.json && answer.json.results) || [];
    if (answer.status === 200) {
      const indexes = results.map((result) => result.index);
      say(outcome, fill(words.done, { count: results.length, first: indexes[0], last: indexes[indexes.length - 1] }));
      outcome.dataset.state = "accepted";
      fileInput.value = "";  // the same file chosen again is checked again (and refused as already recorded)
    } else {
      const position = results.findIndex((result) => result.error);
      const error = position >= 0 ? results[position].error : (answer.json && answer.json.error) || {};
      say(outcome, fill(words.refused, { row: position >= 0 ? rows[position][0] : "?",
        words: errorWords(error.code, error.message) }));
      outcome.dataset.state = "refused";
    }
    outcome.scrollIntoView({ block: "center", behavior: "instant" });
    pending = null;
  } catch (error) {
    say(problem, error instanceof OfflineError ? words.offline : String(error.message || error));
  } finally {
    signButton.disabled = false;
  }
}

typeSelect.addEventListener("change", () => { showTemplate(); reset(); if (fileInput.files[0]) check(); });
fileInput.addEventListener("change", check);
form.addEventListener("submit", (event) => { event.preventDefault(); check(); });
signButton.addEventListener("click", signAndSubmit);
