/* The pages that make new lots: commission (with a product definition if needed, certificate photos, and the
 * labels to print afterwards) and transform (split, merge, process: three presets of one form). */
import {nowWithOffset} from "./core.js";
import {
  FieldProblem, activeDevice, fillHoldings, gtin14, gtinProblem, holdingsOf, isLot, listAll, lotReference, optional,
  productNames, quantityOf, required, runAction, say, text
} from "./actions-common.js";
import {photoList, upload} from "./actions-photos.js";

const $ = (selector, root = document) => root.querySelector(selector);

/** Today's date on the device (the date part of its RFC 3339 time with offset). */
function today() {
  return nowWithOffset().slice(0, 10);
}

function gtinOf(field) {
  const value = required(field).replace(/\s+/g, "");
  const problem = gtinProblem(value);
  if (problem) throw new FieldProblem(field, problem);
  return value;
}

function lotOf(field) {
  const value = required(field);
  if (!isLot(value)) throw new FieldProblem(field, text.form.lot);
  return value;
}

/** Check a GTIN field as it is typed: the check digit is shown wrong before anything is signed. */
function watchGtin(field, hint) {
  field.addEventListener("change", () => {
    const value = field.value.replace(/\s+/g, "");
    say(hint, value ? gtinProblem(value) : "", true);
  });
}

async function ownProducts(device) {
  return listAll(`/api/v1/products?owner=${device.creditCode}`, "products");
}

async function certificatesOf(device, photos) {
  const certificates = [];
  for (const {photo, kind} of photos) {
    certificates.push({kind, sha256: await upload(device, photo)});
  }
  return certificates;
}

// --- commission ----------------------------------------------------------------------------------------------

export async function commissionPage(form, status) {
  const device = await activeDevice(status);
  if (!device) return;
  const products = await ownProducts(device);
  const select = $("#commission-product");
  select.replaceChildren(new Option("—", ""));
  for (const product of products) select.append(new Option(`${product.name} · ${product.spec} · ${product.gtin}`,
                                                           product.gtin));
  const defining = () => form.querySelector("input[name=product_mode]:checked").value === "new";
  const showMode = () => {
    $("#commission-existing").hidden = defining();
    $("#commission-define").hidden = !defining();
    photos.setDefaultKind(category() === "farm" ? "compliance_promise" : "other");
  };
  const category = () => (defining() ? $("#product-category").value
    : (products.find((product) => product.gtin === select.value) || {}).category);
  const photos = photoList($("#commission-photos"), $("#commission-photo-list"),
                           {kinds: text.certificate_kinds, defaultKind: "compliance_promise"});
  if (!products.length) form.querySelector("input[name=product_mode][value=new]").checked = true;
  form.querySelectorAll("input[name=product_mode]").forEach((radio) => radio.addEventListener("change", showMode));
  select.addEventListener("change", showMode);
  $("#product-category").addEventListener("change", showMode);
  watchGtin($("#product-gtin"), $("#product-gtin-hint"));
  $("#commission-produced").value = today();
  showMode();

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    runAction(form, async () => {
      const requests = [];
      const names = {};
      let gtin;
      if (defining()) {
        gtin = gtinOf($("#product-gtin"));
        const define = {gtin, name: required($("#product-name")), category: $("#product-category").value,
                        spec: required($("#product-spec"))};
        names[gtin14(gtin)] = define.name;
        requests.push({type: "trace.product.define", body: define});
      } else {
        gtin = select.value;
        if (!gtin) throw new FieldProblem(select, text.form.required);
        names[gtin14(gtin)] = (products.find((product) => product.gtin === gtin) || {}).name;
      }
      const body = {gtin: gtin14(gtin), lot: lotOf($("#commission-lot")),
                    quantity: quantityOf($("#commission-quantity")), unit: $("#commission-unit").value,
                    produced_on: required($("#commission-produced"))};
      const expires = optional($("#commission-expires"));
      if (expires) body.expires_on = expires;
      const place = optional($("#commission-place"));
      if (place) {
        body.origin = {place};
        const farm = optional($("#commission-farm"));
        if (farm) body.origin.farm = farm;
      }
      body.activity = $("#commission-activity").value;
      const chosen = photos.photos();
      if (category() === "farm" && !chosen.some((entry) => entry.kind === "compliance_promise")) {
        throw new FieldProblem($("#commission-photos"), text.form.farm_needs_promise);
      }
      if (chosen.length) {
        say($(".act-outcome"), text.status.uploading);
        body.certificates = await certificatesOf(device, chosen);
      }
      requests.push({type: "trace.commission", body});
      return {requests, known: {products: names, activities: JSON.parse($("#commission-activities").textContent)}};
    }).then((done) => {
      if (!done) return;
      const gtin = gtin14(defining() ? $("#product-gtin").value.trim() : select.value);
      showLabels(lotReference(gtin, $("#commission-lot").value.trim()), $("#commission-lot").value.trim(),
                 $("#commission-quantity").value.trim());
    });
  });
}

/** The printable labels of the new lot: the label in the page, PNG and SVG links, and an A4 sheet. */
function showLabels(ref, lot, quantity) {
  const section = $("#commission-labels");
  const copies = $("#label-copies");
  const count = /^[0-9]+$/.test(quantity) ? Math.min(Number(quantity), 100) : 1;
  copies.value = String(Math.max(count, 1));
  const sheet = () => `/labels/sheet.pdf?code=${encodeURIComponent(ref)}&copies=${copies.value || 1}`;
  $("#label-title").textContent = text.labels.title.replace("{lot}", lot);
  $("#label-preview").src = `/labels/${ref}.svg`;
  $("#label-png").href = `/labels/${ref}.png`;
  $("#label-svg").href = `/labels/${ref}.svg`;
  $("#label-sheet").href = sheet();
  copies.addEventListener("change", () => { $("#label-sheet").href = sheet(); });
  section.hidden = false;
  section.scrollIntoView({block: "start"});
}

// --- transform -----------------------------------------------------------------------------------------------

const PRESETS = {split: [1, 2], merge: [2, 1], process: [1, 1]};

export async function transformPage(form, status) {
  const device = await activeDevice(status);
  if (!device) return;
  const holdings = await holdingsOf(device);
  const products = await ownProducts(device);
  const list = $("#transform-gtins");
  const gtins = new Map(products.map((product) => [product.gtin, product.name]));
  holdings.forEach((row) => gtins.set(row.gtin, row.name));
  for (const [gtin, name] of gtins) {
    const option = document.createElement("option");
    option.value = gtin;
    option.label = name;
    list.append(option);
  }
  const inputs = $("#transform-inputs");
  const outputs = $("#transform-outputs");
  const certificate = photoList($("#transform-photo"), $("#transform-photos"), {single: true});

  const addInput = () => {
    const row = $("#transform-input-row").content.firstElementChild.cloneNode(true);
    const select = $("select", row);
    fillHoldings(select, holdings);
    const used = new Set(Array.from(inputs.querySelectorAll("select"), (other) => other.value));
    const next = holdings.find((holding) => !used.has(holding.ref));
    if (next) select.value = next.ref;
    $(".act-remove", row).addEventListener("click", () => row.remove());
    inputs.append(row);
  };
  const addOutput = () => {
    const row = $("#transform-output-row").content.firstElementChild.cloneNode(true);
    const first = holdings.find((holding) => holding.ref === $("select", inputs)?.value);
    if (first) {
      $("[name=gtin]", row).value = first.gtin;
      $("[name=unit]", row).value = first.unit;
    }
    $(".act-remove", row).addEventListener("click", () => row.remove());
    outputs.append(row);
  };
  const preset = (kind) => {
    const [inputCount, outputCount] = PRESETS[kind] || [1, 1];
    inputs.replaceChildren();
    outputs.replaceChildren();
    for (let i = 0; i < inputCount; i++) addInput();
    const wanted = new URLSearchParams(location.search).get("batch");
    if (wanted) $("select", inputs).value = wanted;
    for (let i = 0; i < outputCount; i++) addOutput();
  };
  form.querySelectorAll("input[name=kind]").forEach((radio) => {
    radio.addEventListener("change", () => preset(radio.value));
  });
  $("#transform-add-input").addEventListener("click", addInput);
  $("#transform-add-output").addEventListener("click", addOutput);
  preset(form.querySelector("input[name=kind]:checked").value);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    runAction(form, async () => {
      const kind = form.querySelector("input[name=kind]:checked").value;
      const units = {};
      const names = {};
      const body = {kind, inputs: [], outputs: []};
      for (const row of inputs.children) {
        const select = $("select", row);
        const holding = holdings.find((item) => item.ref === select.value);
        if (!holding) throw new FieldProblem(select, text.form.choose_holding);
        units[holding.ref] = holding.unit;
        names[holding.gtin] = holding.name;
        body.inputs.push({batch: holding.ref, quantity: quantityOf($("[name=quantity]", row))});
      }
      for (const row of outputs.children) {
        const output = {gtin: gtin14(gtinOf($("[name=gtin]", row))), lot: lotOf($("[name=lot]", row)),
                        quantity: quantityOf($("[name=quantity]", row)), unit: $("[name=unit]", row).value};
        const expires = optional($("[name=expires_on]", row));
        if (expires) output.expires_on = expires;
        body.outputs.push(output);
      }
      const photos = certificate.photos();
      if (photos.length) {
        say($(".act-outcome"), text.status.uploading);
        const sha256 = await upload(device, photos[0].photo);
        body.outputs.forEach((output) => { output.certificates = [{kind: "compliance_promise", sha256}]; });
      }
      Object.assign(names, await productNames([], body.outputs.map((output) => output.gtin)));
      return {requests: [{type: "trace.transform", body}], known: {products: names, units}};
    });
  });
}
