/* What every action page shares: the page's messages, plain-words summaries of statements, the checks a form
 * makes before asking the ledger (quantities, GTIN check digits, lot numbers, batch codes), lookups of names, and
 * the one flow every action follows: draft → show in plain words → sign on the device → queue → outcome.
 *
 * Pure helpers (no DOM, no network) come first so that they can be tested from a page with a dynamic import.
 */
import {
  ApiError, OfflineError, apiFetch, confirmSignQueue, currentDevice, draft, errorWords, fill, onQueueChange, queueItems
} from "./core.js";

export {ApiError, fill};

const dataBlock = document.getElementById("actions-data");
/** The page's messages (``scanner_web/workspace/actions.py`` ``script_messages``). */
export const text = dataBlock ? JSON.parse(dataBlock.textContent) : {
  units: {}, summary: {}, status: {}, form: {}, labels: {}, results: {}, certificate_kinds: {}, categories: {},
  transform_kinds: {}, complaint_categories: {}, complaint_statuses: {}
};

// --- pure helpers -------------------------------------------------------------------------------------------

export function unitName(code) {
  return text.units[code] || code;
}

const QUANTITY = /^(0|[1-9][0-9]{0,11})(\.[0-9]{1,6})?$/;

/** True for a quantity string the ledger accepts (docs/domain.md §4.1); zero only if ``zero`` is allowed. */
export function isQuantity(value, zero = false) {
  return QUANTITY.test(value) && (zero || !/^0(\.0+)?$/.test(value));
}

/** -1, 0 or 1 comparing two quantity strings exactly (no floating point). */
export function compareQuantities(a, b) {
  const [ai, af = ""] = a.split(".");
  const [bi, bf = ""] = b.split(".");
  if (ai.length !== bi.length) return ai.length < bi.length ? -1 : 1;
  const width = Math.max(af.length, bf.length);
  const left = ai + af.padEnd(width, "0");
  const right = bi + bf.padEnd(width, "0");
  return left === right ? 0 : (left < right ? -1 : 1);
}

/** The GS1 check digit of the digits before it. */
export function gs1CheckDigit(body) {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const digit = Number(body[body.length - 1 - i]);
    sum += i % 2 === 0 ? digit * 3 : digit;
  }
  return String((10 - (sum % 10)) % 10);
}

/** Null for a GTIN-8/12/13/14 with a right check digit, else the problem in plain words. */
export function gtinProblem(value) {
  if (!/^[0-9]+$/.test(value) || ![8, 12, 13, 14].includes(value.length)) return text.form.gtin_length;
  const expected = gs1CheckDigit(value.slice(0, -1));
  const found = value.slice(-1);
  return expected === found ? null : fill(text.form.gtin_check, {expected, found});
}

export function gtin14(value) {
  return value.padStart(14, "0");
}

const LOT = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$/;

export function isLot(value) {
  return LOT.test(value);
}

/** The lot as it appears in a batch reference: every character but A–Z a–z 0–9 - . _ percent-encoded. */
export function encodeLot(lot) {
  return Array.from(new TextEncoder().encode(lot), (byte) => {
    const char = String.fromCharCode(byte);
    return /[A-Za-z0-9\-._]/.test(char) ? char : "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }).join("");
}

/** A lot's batch reference ``01/{GTIN-14}/10/{lot, percent-encoded}``. */
export function lotReference(gtin, lot) {
  return `01/${gtin14(gtin)}/10/${encodeLot(lot)}`;
}

/** ``{gtin, lot}`` or ``{sscc}`` of a batch reference. */
export function parseReference(ref) {
  const lot = /^01\/([0-9]{14})\/10\/(.+)$/.exec(ref);
  if (lot) return {gtin: lot[1], lot: decodeURIComponent(lot[2])};
  const unit = /^00\/([0-9]{18})$/.exec(ref);
  return unit ? {sscc: unit[1]} : {};
}

/** The batch reference a scanned or typed code names, or null: a GS1 Digital Link from any host (its path from
 * ``01``/``00`` on; a serial after the lot is ignored), a reference as written, or a GS1 element string
 * ``(01)…(10)…`` / ``(00)…``. */
export function referenceFromCode(code) {
  const value = code.trim();
  let path = value;
  if (/^https?:\/\//i.test(value)) {
    try { path = new URL(value).pathname; } catch (error) { return null; }
  }
  const segments = path.split("/").filter(Boolean);
  for (let i = 0; i + 1 < segments.length; i++) {
    if (segments[i] === "00" && /^[0-9]{18}$/.test(segments[i + 1])) return `00/${segments[i + 1]}`;
    if (segments[i] === "01" && /^[0-9]{8,14}$/.test(segments[i + 1]) && segments[i + 2] === "10" &&
        segments[i + 3]) {
      let lot;
      try { lot = decodeURIComponent(segments[i + 3]); } catch (error) { return null; }
      return isLot(lot) && !gtinProblem(segments[i + 1]) ? lotReference(segments[i + 1], lot) : null;
    }
  }
  const elements = /^\(01\)([0-9]{14})\(10\)([^()]{1,20})/.exec(value);
  if (elements && isLot(elements[2]) && !gtinProblem(elements[1])) return lotReference(elements[1], elements[2]);
  const sscc = /^\(00\)([0-9]{18})$/.exec(value);
  return sscc ? `00/${sscc[1]}` : null;
}

/** How a batch is named in plain words: its product and lot, or its SSCC. */
export function batchWords(ref, names) {
  const parts = parseReference(ref);
  if (parts.sscc) return {product: parts.sscc, lot: "SSCC"};
  return {product: (names && names[parts.gtin]) || parts.gtin || ref, lot: parts.lot || ref};
}

/** The plain-words lines of one request ``{type, body}``; ``known`` gives names: ``products`` (GTIN → name),
 * ``enterprises`` (credit code → name), ``units`` (batch reference → unit), ``shipment`` (for a receive). */
export function summaryLines(request, known = {}) {
  const s = text.summary;
  const body = request.body;
  const products = known.products || {};
  const unitOf = (ref) => unitName((known.units || {})[ref] || "");
  const lines = [];
  switch (request.type) {
    case "trace.product.define":
      lines.push(fill(s[request.type], {name: body.name, gtin: body.gtin, spec: body.spec,
                                        category: text.categories[body.category] || body.category}));
      break;
    case "trace.commission":
      lines.push(fill(s[request.type], {lot: body.lot, product: products[gtin14(body.gtin)] || body.gtin,
                                        quantity: body.quantity, unit: unitName(body.unit),
                                        produced_on: body.produced_on}));
      if (body.expires_on) lines.push(fill(s.commission_expires, body));
      if (body.origin) lines.push(fill(s.commission_origin, body.origin));
      if (body.activity) lines.push(fill(s.commission_activity, {activity: (known.activities || {})[body.activity]
                                                                 || body.activity}));
      if (body.certificates) lines.push(certificateLine(body.certificates));
      break;
    case "trace.ship": {
      const batch = batchWords(body.batch, products);
      lines.push(fill(s[request.type], {...batch, quantity: body.quantity, unit: unitOf(body.batch),
                                        receiver: (known.enterprises || {})[body.to] || body.to, code: body.to}));
      lines.push(fill(s.ship_id, {id: body.shipment_id}));
      break;
    }
    case "trace.receive": {
      const shipment = known.shipment || {};
      const batch = batchWords(shipment.ref || "", products);
      lines.push(fill(s[request.type], {...batch, quantity: body.quantity, unit: unitName(shipment.unit),
                                        sender: (known.enterprises || {})[body.shipment.from] || body.shipment.from,
                                        id: body.shipment.id}));
      if (body.discrepancy) {
        lines.push(fill(s.receive_short, {shipped: shipment.quantity, unit: unitName(shipment.unit),
                                          discrepancy: body.discrepancy}));
      }
      break;
    }
    case "trace.transform":
      lines.push(fill(s[request.type], {kind: text.transform_kinds[body.kind] || body.kind}));
      for (const input of body.inputs) {
        lines.push(fill(s.transform_input, {...batchWords(input.batch, products), quantity: input.quantity,
                                            unit: unitOf(input.batch)}));
      }
      for (const output of body.outputs) {
        lines.push(fill(s.transform_output, {product: products[gtin14(output.gtin)] || output.gtin, lot: output.lot,
                                             quantity: output.quantity, unit: unitName(output.unit)}));
      }
      if (body.outputs.some((output) => output.certificates)) {
        lines.push(certificateLine(body.outputs.find((output) => output.certificates).certificates));
      }
      break;
    case "trace.sell":
      lines.push(fill(s[request.type], {...batchWords(body.batch, products), quantity: body.quantity,
                                        unit: unitOf(body.batch)}));
      break;
    case "trace.inspect":
      lines.push(fill(s[request.type], {...batchWords(body.batch, products),
                                        result: text.results[body.result] || body.result}));
      if (body.items) lines.push(fill(s.inspect_items, {items: body.items.join("、")}));
      if (body.laboratory) lines.push(fill(s.inspect_laboratory, body));
      if (body.note) lines.push(fill(s.inspect_note, body));
      if (body.certificate_sha256) lines.push(fill(s.inspect_report, {sha256: body.certificate_sha256.slice(0, 12) + "…"}));
      break;
    case "trace.recall":
      lines.push(fill(s[request.type], batchWords(body.batch, products)));
      if (body.level) lines.push(fill(s.recall_level, body));
      lines.push(fill(s.recall_reason, body));
      break;
    default:
      lines.push(request.type);
  }
  return lines;
}

function certificateLine(certificates) {
  const kinds = certificates.map((item) => text.certificate_kinds[item.kind] || item.kind);
  return fill(text.summary.certificates, {kinds: kinds.join("、")});
}

// --- lookups ------------------------------------------------------------------------------------------------

const productCache = new Map();
const enterpriseCache = new Map();

/** The product's name by GTIN (any length), or the GTIN when it is not found or the network is down. */
export async function productName(gtin) {
  const key = gtin14(gtin);
  if (!productCache.has(key)) {
    productCache.set(key, apiFetch("GET", `/api/v1/products/${key}`)
      .then((answer) => (answer.status === 200 ? answer.json.name : key), () => key));
  }
  return productCache.get(key);
}

/** The enterprise's registered name by credit code, or the code. */
export async function enterpriseName(code) {
  if (!enterpriseCache.has(code)) {
    enterpriseCache.set(code, apiFetch("GET", `/api/v1/enterprises/${encodeURIComponent(code)}`)
      .then((answer) => (answer.status === 200 ? answer.json.name : code), () => code));
  }
  return enterpriseCache.get(code);
}

export function rememberEnterprise(code, name) {
  enterpriseCache.set(code, Promise.resolve(name));
}

/** GTIN-14 → product name for every GTIN named by ``refs`` (batch references) and ``gtins``. */
export async function productNames(refs = [], gtins = []) {
  const wanted = new Set(gtins.map(gtin14));
  refs.forEach((ref) => { const parts = parseReference(ref); if (parts.gtin) wanted.add(parts.gtin); });
  const names = {};
  await Promise.all([...wanted].map(async (gtin) => { names[gtin] = await productName(gtin); }));
  return names;
}

/** Every page of a listing (``key`` names the array), up to ``limit`` rows. */
export async function listAll(path, key, limit = 1000) {
  const rows = [];
  let cursor = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const answer = await apiFetch("GET", path + separator + "limit=100" +
                                  (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    if (answer.status !== 200) throw new ApiError(answer.status, answer.json);
    rows.push(...answer.json[key]);
    cursor = answer.json.next_cursor;
  } while (cursor && rows.length < limit);
  return rows;
}

/** The enrolled, active device of this phone, or null after saying why in ``status``. */
export async function activeDevice(status) {
  const device = await currentDevice();
  if (!device) {
    say(status, text.status.no_device, true);
    return null;
  }
  if (device.status !== "active") {
    say(status, text.status.not_active, true);
    return null;
  }
  return device;
}

/** The device's holdings, each with ``name`` (product) for display; lots only unless ``logistic``. */
export async function holdingsOf(device, {logistic = false} = {}) {
  const rows = await listAll(`/api/v1/enterprises/${device.creditCode}/holdings`, "holdings");
  const held = rows.filter((row) => logistic || row.gtin);
  const names = await productNames(held.map((row) => row.ref));
  return held.map((row) => ({...row, name: row.gtin ? names[row.gtin] : row.sscc}));
}

/** Fill a ``<select>`` with the holdings (value: the reference). */
export function fillHoldings(select, holdings) {
  select.replaceChildren(new Option("—", ""));
  for (const row of holdings) {
    const label = `${row.name} · ${row.lot || row.sscc} · ${row.quantity} ${unitName(row.unit)}`;
    select.append(new Option(label, row.ref));
  }
  if (!holdings.length) select.append(new Option(text.form.no_holdings, "", false, false));
}

// --- the page ------------------------------------------------------------------------------------------------

/** Show ``message`` in ``element`` (hidden when empty), as a problem when ``problem``. */
export function say(element, message, problem = false) {
  element.textContent = message || "";
  element.hidden = !message;
  element.classList.toggle("field-error", Boolean(problem) && Boolean(message));
}

/** A problem with one field, found before asking the ledger. */
export class FieldProblem extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

/** The trimmed value of a required field; raises :class:`FieldProblem` when empty. */
export function required(field) {
  const value = field.value.trim();
  if (!value) throw new FieldProblem(field, text.form.required);
  return value;
}

/** The field's value as a quantity string; raises :class:`FieldProblem`. */
export function quantityOf(field, {zero = false} = {}) {
  const value = required(field).replace(/,/g, "");
  if (!isQuantity(value, zero)) throw new FieldProblem(field, text.form.quantity);
  return value;
}

/** The trimmed value, or undefined when empty. */
export function optional(field) {
  const value = field.value.trim();
  return value ? value : undefined;
}

/** Drop members whose value is undefined (the ledger refuses nothing for absent optional members). */
export function compact(body) {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
}

/**
 * Run one action from ``form``: ``build()`` returns ``{requests, lines?, known}`` (or raises FieldProblem);
 * the requests are drafted, shown in plain words, signed, queued and submitted. The outcome appears in the form's
 * ``.act-error`` (a refusal, next to the form, whose fields stay as they are) or ``.act-outcome``. Resolves to the
 * accepted queue items, or null.
 */
export async function runAction(form, build) {
  const problem = form.querySelector(".act-error");
  const outcome = document.querySelector(".act-outcome");
  const submit = form.querySelector("[type=submit]");
  say(problem, "");
  say(outcome, "");
  form.querySelectorAll("[aria-invalid]").forEach((field) => field.removeAttribute("aria-invalid"));
  submit.disabled = true;
  try {
    const {requests, known = {}} = await build();
    say(outcome, text.status.drafting);
    const drafts = await draft(requests);
    const refused = drafts.find((item) => item.error);
    if (refused) {
      say(outcome, "");
      say(problem, errorWords(refused.error.code, refused.error.message), true);
      problem.dataset.code = refused.error.code;
      return null;
    }
    say(outcome, "");
    const lines = requests.map((request) => summaryLines(request, known));
    const queued = await confirmSignQueue(drafts, lines);
    if (!queued) {
      say(outcome, text.status.cancelled);
      return null;
    }
    say(outcome, text.status.sending);
    const settled = await settle(queued);
    const failed = settled.find((item) => item.state === "refused");
    if (failed) {
      say(outcome, "");
      say(problem, failed.error.words || errorWords(failed.error.code, failed.error.message), true);
      problem.dataset.code = failed.error.code;
      return null;
    }
    if (settled.every((item) => item.state === "accepted")) {
      say(outcome, fill(text.status.accepted, {index: settled.map((item) => item.index).join(", ")}));
      outcome.dataset.state = "accepted";
      return settled;
    }
    say(outcome, text.status.queued);
    outcome.dataset.state = "queued";
    return null;
  } catch (error) {
    if (error instanceof FieldProblem) {
      error.field.setAttribute("aria-invalid", "true");
      error.field.focus();
      say(problem, error.message, true);
    } else if (error instanceof OfflineError) {
      say(outcome, "");
      say(problem, text.status.offline, true);
    } else if (error instanceof ApiError) {
      say(problem, errorWords(error.code, error.message), true);
    } else {
      say(problem, fill(text.status.failed, {message: (error && error.message) || String(error)}), true);
    }
    return null;
  } finally {
    submit.disabled = false;
  }
}

/** The queued items once each is accepted or one is refused; after ``waitMs`` those still waiting (offline). */
function settle(queued, waitMs = 15000) {
  const ids = new Set(queued.map((item) => item.id));
  return new Promise((resolve) => {
    let done = false;
    const check = async () => {
      if (done) return;
      const mine = (await queueItems()).filter((item) => ids.has(item.id));
      if (mine.some((item) => item.state === "refused") || mine.every((item) => item.state === "accepted")) {
        done = true;
        resolve(mine);
      }
    };
    onQueueChange(check);
    check();
    setTimeout(async () => {
      if (done) return;
      done = true;
      resolve((await queueItems()).filter((item) => ids.has(item.id)));
    }, waitMs);
  });
}
