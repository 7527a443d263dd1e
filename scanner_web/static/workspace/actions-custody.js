/* The custody action pages: receive (by scanning the crate's code), ship, sell, inspect and recall. */
import {apiFetch, newShipmentId} from "./core.js";
import {
  FieldProblem, activeDevice, compact, compareQuantities, enterpriseName, fill, fillHoldings, holdingsOf,
  listAll, optional, productNames, quantityOf, referenceFromCode, rememberEnterprise, required, runAction, say, text,
  unitName
} from "./actions-common.js";
import {photoList, upload} from "./actions-photos.js";

const $ = (selector) => document.querySelector(selector);

/** The holding select of a page, filled; ``?batch=`` preselects a lot (links from the home page). */
async function holdingSelect(device, select, {onChange = null} = {}) {
  const holdings = await holdingsOf(device);
  fillHoldings(select, holdings);
  const wanted = new URLSearchParams(location.search).get("batch");
  if (wanted && holdings.some((row) => row.ref === wanted)) select.value = wanted;
  else if (holdings.length === 1) select.value = holdings[0].ref;
  const held = () => holdings.find((row) => row.ref === select.value) || null;
  if (onChange) {
    select.addEventListener("change", () => onChange(held()));
    onChange(held());
  }
  return held;
}

function chosenHolding(held, select) {
  const row = held();
  if (!row) throw new FieldProblem(select, text.form.choose_holding);
  return row;
}

function unitHint(element) {
  return (row) => { element.textContent = row ? unitName(row.unit) : ""; };
}

// --- receive -------------------------------------------------------------------------------------------------

export async function receivePage(form, status) {
  const device = await activeDevice(status);
  if (!device) return;
  const codeField = $("#receive-code");
  const choices = $("#receive-shipments");
  const how = $("#receive-how");
  const shortFields = $("#receive-short");
  const problem = form.querySelector(".act-error");
  let found = [];
  let names = {};

  const selected = () => found[Number((form.querySelector("input[name=shipment]:checked") || {}).value)] || null;
  const showHow = () => {
    const short = form.querySelector("input[name=how]:checked").value === "short";
    shortFields.hidden = !short;
    const shipment = selected();
    if (shipment) {
      $("#receive-unit").textContent = unitName(shipment.unit);
      if (!short) $("#receive-quantity").value = shipment.quantity;
    }
  };

  async function find(code) {
    say(problem, "");
    choices.replaceChildren();
    how.hidden = true;
    found = [];
    const ref = referenceFromCode(code);
    if (!ref) {
      say(problem, text.form.not_a_code, true);
      return;
    }
    const incoming = await listAll(`/api/v1/enterprises/${device.creditCode}/shipments?direction=incoming` +
                                   "&status=in_transit", "shipments");
    found = incoming.filter((row) => row.ref === ref);
    if (!found.length) {
      say(problem, fill(text.form.no_shipment, {batch: ref}), true);
      problem.dataset.code = "receive.no_shipment";
      return;
    }
    names = await productNames([ref]);
    for (const [position, shipment] of found.entries()) {
      const sender = await enterpriseName(shipment.shipper);
      const parts = ref.split("/");
      const label = document.createElement("label");
      label.className = "act-choice";
      const radio = document.createElement("input");
      Object.assign(radio, {type: "radio", name: "shipment", value: String(position), checked: position === 0});
      radio.addEventListener("change", showHow);
      const words = document.createElement("span");
      words.textContent = fill(text.form.shipment_found, {
        quantity: shipment.quantity, unit: unitName(shipment.unit), product: names[parts[1]] || parts[1],
        lot: decodeURIComponent(parts[3] || ""), sender, index: shipment.ship_index});
      label.append(radio, words);
      choices.append(label);
    }
    how.hidden = false;
    showHow();
  }

  const scanner = document.querySelector("[data-scanner]");
  const again = $("#receive-scan-again");
  if (scanner) {
    scanner.addEventListener("trace:code", (event) => {
      event.preventDefault();
      codeField.value = event.detail.text;
      if (!event.detail.target) return;   // not a product code: the scanner says so and keeps scanning
      // The scanner stops on a product code; fold the camera away to leave the screen to the shipment.
      setTimeout(() => {
        scanner.classList.add("act-scanned");
        say(scanner.querySelector(".scan-status"), text.form.code_read);
        again.hidden = false;
      }, 0);
      find(event.detail.text).catch((error) => say(problem, error.message, true));
    });
    again.addEventListener("click", () => {
      scanner.classList.remove("act-scanned");
      again.hidden = true;
      scanner.scanner.start();
    });
  }
  $("#receive-find").addEventListener("click", () => {
    find(codeField.value).catch((error) => say(problem, error.message, true));
  });
  form.querySelectorAll("input[name=how]").forEach((radio) => radio.addEventListener("change", showHow));
  const initial = new URLSearchParams(location.search).get("code");
  if (initial) {
    codeField.value = initial;
    await find(initial);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    runAction(form, async () => {
      const shipment = selected();
      if (!shipment) throw new FieldProblem(codeField, text.form.not_a_code);
      const short = form.querySelector("input[name=how]:checked").value === "short";
      const body = {shipment: {from: shipment.shipper, id: shipment.shipment_id}, quantity: shipment.quantity};
      if (short) {
        const quantityField = $("#receive-quantity");
        body.quantity = quantityOf(quantityField, {zero: true});
        if (compareQuantities(body.quantity, shipment.quantity) >= 0) {
          throw new FieldProblem(quantityField, text.form.short_quantity);
        }
        body.discrepancy = required($("#receive-discrepancy"));
      }
      const sender = await enterpriseName(shipment.shipper);
      return {requests: [{type: "trace.receive", body}],
              known: {products: names, enterprises: {[shipment.shipper]: sender}, shipment}};
    }).then((done) => { if (done) { choices.replaceChildren(); how.hidden = true; } });
  });
}

// --- ship ----------------------------------------------------------------------------------------------------

export async function shipPage(form, status) {
  const device = await activeDevice(status);
  if (!device) return;
  const select = $("#ship-holding");
  const held = await holdingSelect(device, select, {onChange: unitHint($("#ship-unit"))});
  const search = $("#ship-search");
  const results = $("#ship-results");
  const receiver = $("#ship-receiver");
  const idField = $("#ship-id");
  idField.value = newShipmentId();
  let to = null;

  const choose = (enterprise) => {
    to = enterprise.credit_code;
    rememberEnterprise(enterprise.credit_code, enterprise.name);
    receiver.textContent = `${enterprise.name} (${enterprise.credit_code})`;
    receiver.hidden = false;
    results.replaceChildren();
  };

  async function find() {
    const query = search.value.trim();
    results.replaceChildren();
    if (query.length < 2) {
      results.append(note(text.form.search_short));
      return;
    }
    let rows = [];
    const answer = await apiFetch("GET", "/api/v1/enterprises?limit=20&q=" + encodeURIComponent(query));
    if (answer.status === 200) {
      rows = answer.json.enterprises;
    } else if (/^[0-9A-Z]{18}$/.test(query.toUpperCase())) {
      // A server without the name search still finds an exact credit code.
      const exact = await apiFetch("GET", `/api/v1/enterprises/${query.toUpperCase()}`);
      rows = exact.status === 200 ? [exact.json] : [];
    }
    rows = rows.filter((row) => row.credit_code !== device.creditCode);
    if (!rows.length) results.append(note(text.form.no_results));
    for (const row of rows) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button-secondary act-result";
      button.textContent = `${row.name} · ${row.credit_code}`;
      button.addEventListener("click", () => choose(row));
      results.append(button);
    }
  }
  $("#ship-find").addEventListener("click", () => find().catch((error) => results.replaceChildren(note(error.message))));
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); find(); }
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    runAction(form, async () => {
      const row = chosenHolding(held, select);
      const quantity = quantityOf($("#ship-quantity"));
      if (!to) throw new FieldProblem(search, text.form.choose_receiver);
      const body = {batch: row.ref, quantity, to, shipment_id: required(idField)};
      return {requests: [{type: "trace.ship", body}],
              known: {products: {[row.gtin]: row.name}, units: {[row.ref]: row.unit},
                      enterprises: {[to]: await enterpriseName(to)}}};
    }).then((done) => { if (done) idField.value = newShipmentId(); });
  });
}

function note(message) {
  const item = document.createElement("p");
  item.className = "muted act-note";
  item.textContent = message;
  return item;
}

// --- sell ----------------------------------------------------------------------------------------------------

export async function sellPage(form, status) {
  const device = await activeDevice(status);
  if (!device) return;
  const select = $("#sell-holding");
  const held = await holdingSelect(device, select, {onChange: unitHint($("#sell-unit"))});
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    runAction(form, async () => {
      const row = chosenHolding(held, select);
      const body = {batch: row.ref, quantity: quantityOf($("#sell-quantity"))};
      return {requests: [{type: "trace.sell", body}],
              known: {products: {[row.gtin]: row.name}, units: {[row.ref]: row.unit}}};
    });
  });
}

// --- inspect -------------------------------------------------------------------------------------------------

export async function inspectPage(form, status) {
  const device = await activeDevice(status);
  if (!device) return;
  const select = $("#inspect-holding");
  const held = await holdingSelect(device, select);
  const report = photoList($("#inspect-photo"), $("#inspect-photos"), {single: true});
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    runAction(form, async () => {
      const typed = optional($("#inspect-code"));
      const ref = typed ? referenceFromCode(typed) : (held() || {}).ref;
      if (typed && !ref) throw new FieldProblem($("#inspect-code"), text.form.not_a_code);
      if (!ref) throw new FieldProblem(select, text.form.choose_holding);
      const items = (optional($("#inspect-items")) || "").split(/[,，、;；\n]+/).map((item) => item.trim())
        .filter(Boolean);
      const body = compact({
        batch: ref, result: form.querySelector("input[name=result]:checked").value,
        items: items.length ? [...new Set(items)] : undefined,
        laboratory: optional($("#inspect-laboratory")), note: optional($("#inspect-note")),
      });
      const photos = report.photos();
      if (photos.length) {
        say($(".act-outcome"), text.status.uploading);
        body.certificate_sha256 = await upload(device, photos[0].photo);
      }
      return {requests: [{type: "trace.inspect", body}], known: {products: await productNames([ref])}};
    });
  });
}

// --- recall --------------------------------------------------------------------------------------------------

export async function recallPage(form, status) {
  const device = await activeDevice(status);
  if (!device) return;
  const select = $("#recall-batch");
  const made = (await listAll(`/api/v1/batches?creator=${device.creditCode}`, "batches"))
    .filter((row) => row.status !== "voided" && row.status !== "destroyed");
  select.replaceChildren(new Option("—", ""));
  for (const row of made) {
    select.append(new Option(`${row.product_name || row.gtin || row.sscc} · ${row.lot || row.sscc} · ` +
                             `${row.quantity} ${unitName(row.unit)}`, row.ref));
  }
  const wanted = new URLSearchParams(location.search).get("batch");
  if (wanted && made.some((row) => row.ref === wanted)) select.value = wanted;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    runAction(form, async () => {
      const ref = select.value;
      if (!ref) throw new FieldProblem(select, text.form.choose_holding);
      const level = form.querySelector("input[name=level]:checked").value;
      const body = compact({batch: ref, reason: required($("#recall-reason")), level: level || undefined});
      return {requests: [{type: "trace.recall", body}], known: {products: await productNames([ref])}};
    });
  });
}
