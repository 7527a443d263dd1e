/* Bytes, canonical JSON and hashes of the ledger format (docs/ledger-format.md §2–§4), for the workspace.
 *
 * Everything here is pure except the SHA-256 calls (WebCrypto). Section numbers are those of ledger-format.md.
 */

export const ENCODER = new TextEncoder();

// §2.1 domain tags: ASCII ending in one zero byte.
export const KEY_ID_TAG = ENCODER.encode("trace-ledger/v1/key-id\0");
export const STATEMENT_HASH_TAG = ENCODER.encode("trace-ledger/v1/statement-hash\0");
export const SIGNATURE_TAG = ENCODER.encode("trace-ledger/v1/statement-signature\0");
// trace.access: what a signed API request and a key request sign.
export const REQUEST_TAG = ENCODER.encode("trace-api/v1/request\0");
export const KEY_REQUEST_TAG = ENCODER.encode("trace-api/v1/key-request\0");

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export const toHex = (bytes) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
export const toBase64 = (bytes) => btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join(""));

export async function sha256(...parts) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...parts)));
}

/** Lower-case hex SHA-256 of `bytes` (a Uint8Array, an ArrayBuffer or a string, taken as UTF-8). */
export async function sha256Hex(bytes) {
  const input = typeof bytes === "string" ? ENCODER.encode(bytes) : new Uint8Array(bytes);
  return toHex(await sha256(input));
}

// ---- §2.4 canonical JSON (RFC 8785 within the ledger profile of §2.3) -----------------------------------------

const MAX_DEPTH = 32;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function serialize(value, depth) {
  if (depth > MAX_DEPTH) throw new TypeError(`JSON nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || value === true || value === false) return String(value);
  switch (typeof value) {
    case "string":
      if (LONE_SURROGATE.test(value)) throw new TypeError("a string holds a lone surrogate");
      // JSON.stringify of a well-formed string is exactly RFC 8785's string form.
      return JSON.stringify(value);
    case "number":
      // The ledger has no floats: quantities travel as decimal strings.
      if (!Number.isSafeInteger(value)) throw new TypeError(`${value} is not an integer within ±(2^53 − 1)`);
      return String(value === 0 ? 0 : value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((item) => serialize(item, depth + 1)).join(",")}]`;
      // Array.prototype.sort compares strings as UTF-16 code units, the order RFC 8785 asks for.
      const names = Object.keys(value).filter((name) => value[name] !== undefined).sort();
      return `{${names.map((name) => {
        if (LONE_SURROGATE.test(name)) throw new TypeError("a member name holds a lone surrogate");
        return `${JSON.stringify(name)}:${serialize(value[name], depth + 1)}`;
      }).join(",")}}`;
    }
    default:
      throw new TypeError(`${typeof value} values have no JSON form in the ledger`);
  }
}

/** The RFC 8785 canonical text of `value` (§2.4); its UTF-8 bytes are what is hashed and signed. */
export function canonicalJson(value) {
  return serialize(value, 0);
}

export const canonicalBytes = (value) => ENCODER.encode(canonicalJson(value));

/** §4.3 the statement hash, in hex. */
export async function statementHash(statement) {
  return toHex(await sha256(STATEMENT_HASH_TAG, canonicalBytes(statement)));
}

/** §3.1 the ledger key id of a raw 32-byte Ed25519 public key. */
export async function keyIdOf(publicKey) {
  return toHex((await sha256(KEY_ID_TAG, publicKey)).slice(0, 8));
}

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
