/* Bytes, canonical JSON and hashes of the ledger format, shared by the verifier of the public page (verify.js)
 * and the workspace (workspace/bytes.js). Section numbers (§) are those of docs/ledger-format.md.
 *
 * Everything here is pure except the SHA-256 calls (WebCrypto). An ES module: no library, no build step.
 */

export const ENCODER = new TextEncoder();

// §2.1 domain tags: ASCII ending in one zero byte.
export const KEY_ID_TAG = ENCODER.encode("trace-ledger/v1/key-id\0");
export const STATEMENT_HASH_TAG = ENCODER.encode("trace-ledger/v1/statement-hash\0");
export const SIGNATURE_TAG = ENCODER.encode("trace-ledger/v1/statement-signature\0");

// ---- Bytes ----------------------------------------------------------------------------------------------------

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
export const equalBytes = (a, b) => a.length === b.length && a.every((byte, i) => byte === b[i]);
export const toBase64 = (bytes) => btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join(""));

// §2.1 base64: the standard alphabet with padding. Like Python's b64decode(validate=True) this accepts a
// non-canonical last character; callers that need canonical base64 re-encode and compare.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The bytes of standard padded base64 `text`, or null when it is not a string in that alphabet. */
export function fromBase64(text) {
  if (typeof text !== "string" || !BASE64.test(text)) return null;
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

export async function sha256(...parts) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...parts)));
}

/** Lower-case hex SHA-256 of `bytes` (a Uint8Array, an ArrayBuffer or a string, taken as UTF-8). */
export async function sha256Hex(bytes) {
  const input = typeof bytes === "string" ? ENCODER.encode(bytes) : new Uint8Array(bytes);
  return toHex(await sha256(input));
}

// ---- §2.4 canonical JSON (RFC 8785 within the ledger profile of §2.3) -----------------------------------------

/** How deep a statement's JSON may nest (§2.3); a leaf holds its statement one level further down. */
export const MAX_DEPTH = 32;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether `text` holds a UTF-16 surrogate without its pair, which has no UTF-8 form. */
export const hasLoneSurrogate = (text) => LONE_SURROGATE.test(text);

/** A value outside the ledger's JSON profile. A TypeError (its `name` stays "TypeError") with the stable `code`
 * and message of the reference (ledger/canonical.py): statement.depth, statement.encoding, statement.float or
 * statement.integer_range. */
export class JsonProfileError extends TypeError {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function serialize(value, depth, maxDepth) {
  if (depth > maxDepth) throw new JsonProfileError("statement.depth", `JSON nested deeper than ${maxDepth} levels`);
  if (value === null || value === true || value === false) return String(value);
  switch (typeof value) {
    case "string":
      if (hasLoneSurrogate(value)) throw new JsonProfileError("statement.encoding", "string holds a lone surrogate");
      // ECMAScript's JSON.stringify of a well-formed string is exactly RFC 8785 §3.2.2.2's string form.
      return JSON.stringify(value);
    case "number":
      // The ledger has no floats: quantities travel as decimal strings.
      if (!Number.isInteger(value)) throw new JsonProfileError("statement.float", "float values are not allowed");
      if (!Number.isSafeInteger(value)) {
        throw new JsonProfileError("statement.integer_range", `integer ${value} is outside +/-(2**53 - 1)`);
      }
      return String(value === 0 ? 0 : value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((item) => serialize(item, depth + 1, maxDepth)).join(",")}]`;
      // RFC 8785 §3.2.3: members sorted by their names as UTF-16 code units, which is what sort() compares. A
      // member whose value is undefined is left out, as JSON.stringify leaves it out.
      const names = Object.keys(value).filter((name) => value[name] !== undefined).sort();
      return `{${names.map((name) => {
        if (hasLoneSurrogate(name)) throw new JsonProfileError("statement.encoding", "string holds a lone surrogate");
        return `${JSON.stringify(name)}:${serialize(value[name], depth + 1, maxDepth)}`;
      }).join(",")}}`;
    }
    default:
      throw new JsonProfileError("statement.float", `${typeof value} values are not allowed`);
  }
}

/** The RFC 8785 canonical text of `value` (§2.4), nested at most `maxDepth` levels below it; its UTF-8 bytes are
 * what is hashed and signed. Throws a JsonProfileError for a value outside the ledger's JSON profile. */
export function canonicalJson(value, maxDepth = MAX_DEPTH) {
  return serialize(value, 0, maxDepth);
}

/** The UTF-8 bytes of canonicalJson(value, maxDepth). */
export const canonicalBytes = (value, maxDepth = MAX_DEPTH) => ENCODER.encode(canonicalJson(value, maxDepth));

// ---- §3, §4 ids and hashes ------------------------------------------------------------------------------------

/** §4.3 the statement hash, in hex. */
export async function statementHash(statement) {
  return toHex(await sha256(STATEMENT_HASH_TAG, canonicalBytes(statement)));
}

/** §3.1 the ledger key id of a raw 32-byte Ed25519 public key: hex(SHA-256(tag || public key)[0:8]). */
export async function keyIdOf(publicKey) {
  return toHex((await sha256(KEY_ID_TAG, publicKey)).slice(0, 8));
}
