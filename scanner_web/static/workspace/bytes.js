/* Bytes, canonical JSON and hashes of the ledger format (docs/ledger-format.md §2–§4), for the workspace.
 *
 * The ledger's own bytes (domain tags, hex and base64, SHA-256, canonical JSON, statement hashes and key ids) live
 * in ../ledger-bytes.js, shared with the public page's verifier; this module adds what only the workspace needs:
 * the tags of signed API requests, batch references, times and shipment ids.
 */

import { ENCODER, toHex } from "../ledger-bytes.js";

export {
  ENCODER, KEY_ID_TAG, SIGNATURE_TAG, STATEMENT_HASH_TAG, canonicalBytes, canonicalJson, concat, keyIdOf, sha256,
  sha256Hex, statementHash, toBase64, toHex,
} from "../ledger-bytes.js";

// trace.access: what a signed API request and a key request sign.
export const REQUEST_TAG = ENCODER.encode("trace-api/v1/request\0");
export const KEY_REQUEST_TAG = ENCODER.encode("trace-api/v1/key-request\0");

// ---- identifiers and times ------------------------------------------------------------------------------------

/** A lot's batch reference `01/{gtin14}/10/{lot}`: every character of the lot other than A–Z a–z 0–9 - . _ is
 * percent-encoded with upper-case hex (docs/domain.md §1.3). */
export function lotRef(gtin14, lot) {
  const encoded = Array.from(ENCODER.encode(lot), (byte) => {
    const char = String.fromCharCode(byte);
    return /[A-Za-z0-9._-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
  return `01/${gtin14}/10/${encoded}`;
}

const pad = (number, width = 2) => String(Math.abs(number)).padStart(width, "0");

/** The device's time as RFC 3339 with its UTC offset, to the second: `2026-11-21T08:05:09+08:00`. */
export function nowWithOffset(moment = new Date()) {
  const offset = -moment.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  return `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}T` +
    `${pad(moment.getHours())}:${pad(moment.getMinutes())}:${pad(moment.getSeconds())}` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
}

/** A shipment id unique per shipper in practice: `WS-` the device's date and time, then 6 random hex digits
 * (within `[A-Za-z0-9][A-Za-z0-9._:-]{0,63}`). */
export function newShipmentId(moment = new Date()) {
  const stamp = `${moment.getFullYear()}${pad(moment.getMonth() + 1)}${pad(moment.getDate())}-` +
    `${pad(moment.getHours())}${pad(moment.getMinutes())}${pad(moment.getSeconds())}`;
  return `WS-${stamp}-${toHex(crypto.getRandomValues(new Uint8Array(3))).toUpperCase()}`;
}

/** A key id grouped in fours for reading aloud and comparing: `2203 cd66 f34e 67fb`. */
export const fingerprint = (keyId) => (keyId || "").match(/.{1,4}/g)?.join(" ") ?? "";
