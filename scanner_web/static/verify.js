/* "Verified on this device": the public page checks a batch's proof bundle in the browser, with WebCrypto
 * (Ed25519, SHA-256) and the operator's verifier key shipped with the page. No library, no build step: an ES
 * module that takes the ledger's bytes, hashes and canonical JSON from ledger-bytes.js, which the workspace shares.
 *
 * It mirrors ledger/proofs.py (verify_batch_bundle, verify_entry_bundle) check for check, with the same error
 * codes; the section numbers (§) are those of docs/ledger-format.md. The pure function is
 * window.traceVerify.verifyBundle(bundle, operatorKeyText, origin): it resolves to what was verified or rejects
 * with a VerifyError that has a stable `code`, an English `message` saying what was expected and what was found,
 * and the `index` of the entry being checked when there is one.
 */

import {
  ENCODER, MAX_DEPTH, JsonProfileError, SIGNATURE_TAG, STATEMENT_HASH_TAG, canonicalBytes, concat, equalBytes,
  fromBase64, hasLoneSurrogate, keyIdOf, sha256, toBase64, toHex,
} from "./ledger-bytes.js";

const BATCH_BUNDLE_FORMAT = "trace-ledger-batch-proof/1";
const BUNDLE_FORMAT = "trace-ledger-proof/1";
const MAX_STATEMENT_BYTES = 64 * 1024;
const MAX_LEAF_OVERHEAD = 256;
const MAX_NOTE_BYTES = 16 * 1024;
const MAX_LINKS = 256;
const HASH_SIZE = 32;
const OPERATOR = "operator";
const GENESIS = "ledger.genesis";
const KEY_TYPES = ["ledger.key.add", "ledger.key.rotate"];

class VerifyError extends Error {
  constructor(code, message, index = null) {
    super(message);
    this.name = "VerifyError";
    this.code = code;
    this.index = index;
  }
}

function fail(code, message, index = null) {
  throw new VerifyError(code, message, index);
}

// Python's repr() of a string, for messages worded as the reference words them.
const repr = (value) => (typeof value === "string" ? `'${value}'` : JSON.stringify(value) ?? String(value));

// ---- Ed25519 signatures (RFC 8032, WebCrypto) -----------------------------------------------------------

const ed25519Keys = new Map();

// RFC 8032 Ed25519 through WebCrypto; resolves to true or false.
async function ed25519Verify(publicKey, signature, message) {
  const id = toHex(publicKey);
  if (!ed25519Keys.has(id)) {
    ed25519Keys.set(id, crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]));
  }
  return crypto.subtle.verify({ name: "Ed25519" }, await ed25519Keys.get(id), signature, message);
}

// ---- §2.3 JSON under the ledger profile ------------------------------------------------------------------

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/** Parse JSON text (a string, or UTF-8 bytes) strictly: no floats, safe integers, no duplicate names.
 * Objects have no prototype, so a member named "__proto__" is an ordinary member. Lone surrogates are kept
 * and refused by canonicalize(), as the reference does. */
function parseJson(input) {
  let text = input;
  if (typeof input !== "string") {
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      fail("statement.encoding", "not UTF-8");
    }
  }
  let at = 0;
  const malformed = (what) => fail("statement.json", `malformed JSON: ${what} at offset ${at}`);
  const skipSpace = () => {
    while (at < text.length && " \t\n\r".includes(text[at])) at += 1;
  };

  function string() {
    at += 1; // the opening quote
    let out = "";
    for (;;) {
      const char = text[at];
      if (char === undefined) malformed("unterminated string");
      if (char === '"') {
        at += 1;
        return out;
      }
      if (char < " ") malformed("invalid control character in a string");
      if (char !== "\\") {
        out += char;
        at += 1;
        continue;
      }
      const escape = text[at + 1];
      if (escape === "u") {
        const digits = text.slice(at + 2, at + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(digits)) malformed("invalid \\u escape");
        out += String.fromCharCode(parseInt(digits, 16)); // pairs of surrogate escapes join by themselves
        at += 6;
      } else if (escape in ESCAPES) {
        out += ESCAPES[escape];
        at += 2;
      } else {
        malformed("invalid escape");
      }
    }
  }

  function number() {
    NUMBER.lastIndex = at;
    const match = NUMBER.exec(text);
    if (!match) malformed("expecting a value");
    const literal = match[0];
    at += literal.length;
    if (match[1] || match[2]) {
      fail("statement.float", `numbers with a fraction or exponent are not allowed (found ${literal.slice(0, 40)})`);
    }
    const value = literal.length > 17 ? Infinity : Number(literal);
    if (Math.abs(value) > Number.MAX_SAFE_INTEGER) {
      fail("statement.integer_range", `integer ${literal.slice(0, 40)} is outside +/-(2**53 - 1)`);
    }
    return value === 0 ? 0 : value; // -0 reads as 0
  }

  function value(depth) {
    if (depth > 512) fail("statement.depth", "JSON nested too deeply");
    skipSpace();
    const char = text[at];
    if (char === "{") {
      const object = Object.create(null);
      at += 1;
      skipSpace();
      if (text[at] === "}") {
        at += 1;
        return object;
      }
      for (;;) {
        skipSpace();
        if (text[at] !== '"') malformed("expecting a member name");
        const name = string();
        skipSpace();
        if (text[at] !== ":") malformed("expecting ':'");
        at += 1;
        const member = value(depth + 1);
        if (Object.prototype.hasOwnProperty.call(object, name)) {
          fail("statement.duplicate_key", `duplicate member name ${repr(name)}`);
        }
        object[name] = member;
        skipSpace();
        if (text[at] === ",") {
          at += 1;
        } else if (text[at] === "}") {
          at += 1;
          return object;
        } else {
          malformed("expecting ',' or '}'");
        }
      }
    }
    if (char === "[") {
      const array = [];
      at += 1;
      skipSpace();
      if (text[at] === "]") {
        at += 1;
        return array;
      }
      for (;;) {
        array.push(value(depth + 1));
        skipSpace();
        if (text[at] === ",") {
          at += 1;
        } else if (text[at] === "]") {
          at += 1;
          return array;
        } else {
          malformed("expecting ',' or ']'");
        }
      }
    }
    if (char === '"') return string();
    for (const [literal, result] of [["true", true], ["false", false], ["null", null]]) {
      if (text.startsWith(literal, at)) {
        at += literal.length;
        return result;
      }
    }
    for (const constant of ["NaN", "Infinity", "-Infinity"]) {
      if (text.startsWith(constant, at)) fail("statement.float", `${constant} is not JSON`);
    }
    return number();
  }

  const result = value(0);
  const end = at;
  skipSpace();
  if (at < text.length) fail("statement.json", `extra data after the JSON value at offset ${end}`);
  return result;
}

// ---- §2.4 canonical JSON (RFC 8785) ------------------------------------------------------------------------

/** The RFC 8785 canonical UTF-8 bytes of `value`, nested at most `maxDepth` levels below it (ledger-bytes.js),
 * failing with the reference's VerifyError. */
function canonicalize(value, maxDepth = MAX_DEPTH) {
  try {
    return canonicalBytes(value, maxDepth);
  } catch (error) {
    if (error instanceof JsonProfileError) fail(error.code, error.message);
    throw error;
  }
}

// ---- §3 keys ---------------------------------------------------------------------------------------------

function decodePublicKey(text, index) {
  const raw = fromBase64(text);
  if (raw === null) fail("key.malformed", "public key is not base64", index);
  if (raw.length !== 32 || toBase64(raw) !== text) {
    fail("key.malformed", "public key must be 32 bytes in canonical base64", index);
  }
  return raw;
}

/** §3.3 the verifier key text `<name>+<hex key id>+<base64(0x01 || public key)>`; §3.2 checks its key id. */
async function parseVerifierKey(text) {
  const trimmed = String(text).trim();
  const first = trimmed.indexOf("+");
  const second = trimmed.indexOf("+", first + 1);
  if (first < 0 || second < 0) fail("note.key", "verifier key must be <name>+<key id hex>+<base64 key>");
  const name = trimmed.slice(0, first);
  const idHex = trimmed.slice(first + 1, second);
  const raw = fromBase64(trimmed.slice(second + 1));
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(idHex) || raw === null) {
    fail("note.key", "verifier key id is not hex or key is not base64");
  }
  if (idHex.length !== 8 || raw.length !== 33 || raw[0] !== 1) {
    fail("note.key", "verifier key must be a 4-byte id and a type-0x01 Ed25519 key");
  }
  if (!/^[^\s+]+$/.test(name)) {
    fail("note.key_name", `key name ${repr(name)} must be non-empty without spaces or '+'`);
  }
  const publicKey = raw.slice(1);
  const noteKeyId = (await sha256(ENCODER.encode(name), Uint8Array.of(0x0a, 0x01), publicKey)).slice(0, 4);
  if (toHex(noteKeyId) !== idHex.toLowerCase()) {
    fail("note.key", `verifier key id ${idHex} does not match the key, expected ${toHex(noteKeyId)}`);
  }
  return { name, noteKeyId, publicKey, text: trimmed };
}

// ---- §8.4 checkpoints ------------------------------------------------------------------------------------

/** Open a checkpoint note with the operator key; returns {origin, size (BigInt), root}. */
async function openCheckpoint(note, key, origin) {
  const label = `${key.name}+${toHex(key.noteKeyId)}`;
  // Step 1.
  if (hasLoneSurrogate(note)) fail("note.malformed", "note is not UTF-8 text");
  const size = ENCODER.encode(note).length;
  if (size > MAX_NOTE_BYTES) fail("note.size", `note is ${size} bytes, limit ${MAX_NOTE_BYTES}`);
  if (/[\x00-\x09\x0b-\x1f]/.test(note)) fail("note.malformed", "note contains control characters");
  // Step 2.
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) fail("note.malformed", "note has no blank line before its signatures");
  const text = note.slice(0, split + 1);
  // Step 3: lines by other keys (witnesses) are ignored; at least one operator line must verify.
  let verified = false;
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const match = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!match) fail("note.malformed", `malformed signature line ${repr(line.slice(0, 60))}`);
    const [, name, encoded] = match;
    const raw = fromBase64(encoded);
    if (raw === null) fail("note.malformed", `signature of ${repr(name)} is not base64`);
    if (name !== key.name || !equalBytes(raw.slice(0, 4), key.noteKeyId)) continue;
    if (toBase64(raw) !== encoded) fail("checkpoint.signature", "operator signature is not canonical base64");
    if (raw.length !== 4 + 64) {
      fail("checkpoint.signature", `operator signature has ${raw.length - 4} bytes, expected 64`);
    }
    if (!(await ed25519Verify(key.publicKey, raw.slice(4), ENCODER.encode(text)))) {
      fail("checkpoint.signature", `operator signature by ${label} does not verify`);
    }
    verified = true;
  }
  if (!verified) fail("checkpoint.signature", `no signature by operator key ${label}`);
  // Step 4.
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) fail("checkpoint.malformed", "checkpoint needs origin, size and root lines");
  const expected = origin ?? key.name;
  if (lines[0] !== expected) {
    fail("checkpoint.origin", `checkpoint origin is ${repr(lines[0])}, expected ${repr(expected)}`);
  }
  if (!/^(?:0|[1-9][0-9]{0,18})$/.test(lines[1])) {
    fail("checkpoint.malformed",
      `checkpoint size ${repr(lines[1].slice(0, 30))} is not a decimal without leading zeros`);
  }
  const root = fromBase64(lines[2]);
  if (root === null) fail("checkpoint.malformed", "checkpoint root is not base64");
  if (root.length !== HASH_SIZE) {
    fail("checkpoint.malformed", `checkpoint root has ${root.length} bytes, expected ${HASH_SIZE}`);
  }
  return { origin: lines[0], size: BigInt(lines[1]), root };
}

// ---- §8.2 inclusion proofs (RFC 9162 §2.1.3) -------------------------------------------------------------

/** The number of elements of PATH(index, D[size]) (RFC 9162 §2.1.3.1), as ledger/merkle.py counts them. */
function inclusionLength(index, size) {
  let [start, end, m, count] = [0n, size, index, 0];
  while (end - start > 1n) {
    let k = 1n;
    while (k * 2n < end - start) k *= 2n; // the largest power of two smaller than the range
    if (m < k) {
      end = start + k;
    } else {
      start += k;
      m -= k;
    }
    count += 1;
  }
  return count;
}

const nodeHash = (left, right) => sha256(Uint8Array.of(0x01), left, right);

/** RFC 9162 §2.1.3.2: `proof` proves `leafHash` is leaf `index` of the tree of `size` leaves with `root`. */
async function verifyInclusion(leafHash, index, size, proof, root, entry) {
  if (index < 0) {
    fail("proof.size", `index and tree size must be non-negative integers, found ${index} and ${size}`, entry);
  }
  const position = BigInt(index);
  // Step 1: the index must lie inside the tree.
  if (position >= size) fail("proof.size", `leaf index ${index} is not below tree size ${size}`, entry);
  const expected = inclusionLength(position, size);
  if (proof.length !== expected) {
    fail("proof.length", `proof has ${proof.length} elements, the tree sizes need exactly ${expected}`, entry);
  }
  proof.forEach((element, i) => {
    if (element.length !== HASH_SIZE) {
      fail("proof.hash_size", `proof element ${i} is not a ${HASH_SIZE}-byte hash`, entry);
    }
  });
  // Steps 2-3.
  let [fn, sn, r] = [position, size - 1n, leafHash];
  // Step 4.
  for (const p of proof) {
    if (sn === 0n) fail("proof.length", "inclusion proof has more elements than the tree needs", entry); // 4a
    if (fn & 1n || fn === sn) { // 4b
      r = await nodeHash(p, r);
      if (!(fn & 1n)) {
        while (fn && !(fn & 1n)) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n; // 4c
    sn >>= 1n;
  }
  // Step 5.
  if (sn !== 0n) fail("proof.length", "inclusion proof has fewer elements than the tree needs", entry);
  if (!equalBytes(r, root)) {
    fail("proof.root", `inclusion proof leads to root ${toHex(r)}, expected ${toHex(root)}`, entry);
  }
}

// ---- §4, §6 statements and leaves ------------------------------------------------------------------------

const CONTROL = /[\x00-\x1f\x7f]/;
const TYPE = /^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){1,4}$/;
const AUTHOR = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const KEY_ID = /^[0-9a-f]{16}$/;
const HASH_HEX = /^[0-9a-f]{64}$/;
const TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
const RECEIVED = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
const codePoints = (text) => [...text].length;

// §2.2: a real instant (year 1-9999, a real day, hour 00-23, minute and second 00-59).
function isInstant(match) {
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return year >= 1 && day >= 1 && day <= days && hour <= 23 && minute <= 59 && second <= 59;
}

function checkMembers(fields, allowed, what, index) {
  const names = Object.keys(fields);
  const missing = allowed.filter((name) => !names.includes(name)).sort();
  const unknown = names.filter((name) => !allowed.includes(name)).sort();
  if (missing.length || unknown.length) {
    const parts = [];
    if (missing.length) parts.push(`missing ${missing.join(", ")}`);
    if (unknown.length) parts.push(`unknown ${unknown.map(repr).join(", ")}`);
    fail("statement.fields", `${what}: ${parts.join("; ")}`, index);
  }
}

/** §4.1 the statement's members, in the table's order. */
function checkStatement(fields, canonical, index) {
  const field = (message) => fail("statement.field", message, index);
  if (!isObject(fields)) fail("statement.type", "statement must be a JSON object", index);
  checkMembers(fields, ["v", "ledger", "type", "author", "key", "seq", "prev", "links", "time", "body"],
    "statement", index);
  if (fields.v !== 1) fail("statement.version", `v must be 1, found ${repr(fields.v)}`, index);
  const ledger = fields.ledger;
  if (typeof ledger !== "string" || !ledger || codePoints(ledger) > 200 || CONTROL.test(ledger)) {
    field("ledger must be 1-200 characters without control characters");
  }
  if (typeof fields.type !== "string" || !TYPE.test(fields.type)) {
    field(`type must be a dotted lower-case name such as trace.ship, found ${repr(fields.type)}`);
  }
  if (typeof fields.author !== "string" || !AUTHOR.test(fields.author)) {
    field(`author must be 1-64 letters, digits, '.', '_', ':' or '-', found ${repr(fields.author)}`);
  }
  if (typeof fields.key !== "string" || !KEY_ID.test(fields.key)) {
    field(`key must be 16 lower-case hex digits, found ${repr(fields.key)}`);
  }
  const { seq, prev, links, time } = fields;
  if (!Number.isInteger(seq) || seq < 1) field(`seq must be an integer >= 1, found ${repr(seq)}`);
  if (seq === 1) {
    if (prev !== null) field("prev must be null when seq is 1");
  } else if (typeof prev !== "string" || !HASH_HEX.test(prev)) {
    field("prev must be the 64-hex-digit hash of the author's previous statement");
  }
  if (!isObject(links)) field("links must be an object mapping batch references to hashes");
  const refs = Object.keys(links);
  if (refs.length > MAX_LINKS) field(`a statement may link at most ${MAX_LINKS} batches, found ${refs.length}`);
  for (const ref of refs) {
    if (!ref || codePoints(ref) > 256 || CONTROL.test(ref)) {
      field(`batch reference ${repr(ref.slice(0, 40))} must be 1-256 characters without control characters`);
    }
    if (links[ref] !== null && (typeof links[ref] !== "string" || !HASH_HEX.test(links[ref]))) {
      field(`links[${repr(ref)}] must be null or a 64-hex-digit statement hash`);
    }
  }
  const moment = typeof time === "string" ? TIME.exec(time) : null;
  if (!moment || !isInstant(moment)) {
    fail("statement.time", `time must be an RFC 3339 date-time with a UTC offset, found ${repr(time)}`, index);
  }
  if (!isObject(fields.body)) field("body must be a JSON object");
  if (canonical.length > MAX_STATEMENT_BYTES) {
    fail("statement.too_large", `statement is ${canonical.length} bytes, the limit is ${MAX_STATEMENT_BYTES}`, index);
  }
}

/** §6 a leaf given as a JSON value: its canonical bytes and hash, statement, statement hash and signature.
 * Its bytes are canonical by construction, so §6 step 7 cannot fail here. */
async function readLeaf(value, index = null) {
  const bytes = canonicalize(value, MAX_DEPTH + 1); // the leaf holds the statement one level down
  const limit = MAX_STATEMENT_BYTES + MAX_LEAF_OVERHEAD;
  if (bytes.length > limit) {
    fail("statement.too_large", `leaf is ${bytes.length} bytes, the limit is ${limit}`, index);
  }
  if (!isObject(value)) fail("leaf.type", "leaf must be a JSON object", index);
  checkMembers(value, ["received", "signature", "statement"], "leaf", index);
  const received = value.received;
  const moment = typeof received === "string" ? RECEIVED.exec(received) : null;
  if (!moment || !isInstant(moment)) {
    fail("leaf.received", `received must be YYYY-MM-DDTHH:MM:SS.ffffffZ, found ${repr(received)}`, index);
  }
  const canonical = canonicalize(value.statement);
  checkStatement(value.statement, canonical, index);
  // §4.4 the signature: canonical base64 of 64 bytes.
  const text = value.signature;
  if (typeof text !== "string" || text.length !== 88) {
    fail("statement.signature_encoding", "signature must be 64 bytes in base64 (88 characters)", index);
  }
  const signature = fromBase64(text);
  if (signature === null) fail("statement.signature_encoding", "signature is not base64", index);
  if (signature.length !== 64 || toBase64(signature) !== text) {
    fail("statement.signature_encoding", "signature is not canonical base64 of 64 bytes", index);
  }
  return {
    bytes, received, statement: value.statement, canonical, signature,
    leafHash: await sha256(Uint8Array.of(0x00), bytes), // §6, RFC 9162 leaf hash
    statementHash: toHex(await sha256(STATEMENT_HASH_TAG, canonical)), // §4.3
  };
}

// ---- §11 proof bundles -----------------------------------------------------------------------------------

const sameMembers = (value, names) =>
  isObject(value) && Object.keys(value).length === names.length && names.every((name) => name in value);

/** §11 steps 1-2: the checkpoint opened with the operator key, and every entry proved included in it. */
async function openEntries(bundle, key, origin) {
  if (!Array.isArray(bundle.entries) || typeof bundle.checkpoint !== "string") {
    fail("proof.malformed", "bundle entries must be a list and checkpoint a note");
  }
  const checkpoint = await openCheckpoint(bundle.checkpoint, key, origin);
  const leaves = new Map();
  for (const item of bundle.entries) {
    if (!sameMembers(item, ["index", "leaf", "inclusion"]) || !Array.isArray(item.inclusion) ||
        !Number.isInteger(item.index)) {
      fail("proof.malformed", "bundle entry must hold index, leaf and inclusion");
    }
    const leaf = await readLeaf(item.leaf, item.index);
    const proof = item.inclusion.map((element) => {
      if (typeof element !== "string") fail("proof.malformed", "proof elements are base64 strings", item.index);
      return fromBase64(element) ?? fail("proof.malformed", "proof element is not base64", item.index);
    });
    await verifyInclusion(leaf.leafHash, item.index, checkpoint.size, proof, checkpoint.root, item.index);
    leaves.set(item.index, leaf);
  }
  if (!leaves.has(0)) fail("proof.malformed", "bundle lacks the genesis entry");
  return { checkpoint, leaves };
}

async function checkSignature(publicKey, leaf, index, prefix = "") {
  if (!(await ed25519Verify(publicKey, leaf.signature, concat(SIGNATURE_TAG, leaf.canonical)))) { // §4.4
    fail("signature.invalid", `${prefix}signature does not verify under key ${await keyIdOf(publicKey)}`, index);
  }
}

/** §11 steps 3-5: the keys registered by the genesis and key entries in the bundle; each target entry is
 * signed by a key registered for its author. Returns the target leaves in order. */
async function verifySigners(leaves, targets, key) {
  if (!targets.length || targets.some((index) => !leaves.has(index))) {
    fail("proof.malformed", "bundle lacks an entry it names");
  }
  const operatorId = await keyIdOf(key.publicKey);
  const genesis = leaves.get(0).statement;
  if (genesis.type !== GENESIS || genesis.author !== OPERATOR || genesis.key !== operatorId ||
      typeof genesis.body.registrar !== "string") {
    fail("proof.genesis", "entry 0 is not the operator's genesis statement", 0);
  }
  await checkSignature(key.publicKey, leaves.get(0), 0);
  const registrar = genesis.body.registrar;
  const registrarKey = decodePublicKey(genesis.body.registrar_public_key, 0);
  const registered = new Map([[operatorId, [OPERATOR, key.publicKey]]]); // key id -> [author, public key]
  registered.set(await keyIdOf(registrarKey), [registrar, registrarKey]);
  for (const at of [...leaves.keys()].sort((a, b) => a - b)) {
    const { statement } = leaves.get(at);
    if (at === 0 || targets.includes(at) || !KEY_TYPES.includes(statement.type)) continue;
    const subject = statement.body.subject;
    if (typeof subject !== "string") fail("proof.key", `key entry ${at} names no subject`, at);
    const authority = subject === registrar ? OPERATOR : registrar;
    if (statement.author !== authority || registered.get(statement.key)?.[0] !== authority) {
      fail("proof.key", `key entry ${at} for ${subject} is not signed by the ${authority}`, at);
    }
    await checkSignature(registered.get(statement.key)[1], leaves.get(at), at);
    const publicKey = decodePublicKey(statement.body.public_key, at);
    registered.set(await keyIdOf(publicKey), [subject, publicKey]);
  }
  const out = [];
  for (const index of targets) {
    const target = leaves.get(index);
    const [author, publicKey] = registered.get(target.statement.key) ?? [null, null];
    if (author !== target.statement.author) {
      fail("proof.key", `bundle does not show key ${target.statement.key} registered for ${target.statement.author}`,
        index);
    }
    await checkSignature(publicKey, target, index, `entry ${index}: `);
    out.push(target);
  }
  return out;
}

const BATCH_MEMBERS = ["format", "checkpoint", "ref", "indexes", "entries"];
const HEX64 = /^[0-9a-f]{64}$/;

/** §11.2 a suffix bundle's `previous` and `earlier`; [null, 0] for a whole history. */
function suffixStart(value) {
  if (!("previous" in value)) return [null, 0];
  const { previous, earlier } = value;
  if (typeof previous !== "string" || !HEX64.test(previous)) {
    fail("proof.malformed", `previous must be a statement hash in 64 lowercase hex digits, found ${repr(previous).slice(0, 80)}`);
  }
  if (!Number.isInteger(earlier) || earlier < 1) {
    fail("proof.malformed", `earlier must be an integer of at least 1, found ${repr(earlier).slice(0, 40)}`);
  }
  return [previous, earlier];
}

/** Verify a `trace-ledger-batch-proof/1` bundle (or a `trace-ledger-proof/1` one) with only the operator's
 * verifier key. `bundle` is JSON text, UTF-8 bytes or an already parsed value. Resolves to
 * {format, ref, origin, treeSize, root, previous, earlier, complete,
 *  entries: [{index, type, author, received, statementHash}]} or rejects with a VerifyError. A suffix bundle
 * (§11.2) proves its entries chain to `previous`; `earlier` is the bundle's own count of the events before. */
async function verifyBundle(bundle, operatorKeyText, origin = null) {
  const value = typeof bundle === "string" || bundle instanceof Uint8Array || bundle instanceof ArrayBuffer
    ? parseJson(bundle instanceof ArrayBuffer ? new Uint8Array(bundle) : bundle) : bundle;
  const key = await parseVerifierKey(operatorKeyText);
  let targets;
  let [previous, earlier] = [null, 0];
  if (value?.format === BATCH_BUNDLE_FORMAT) {
    const { indexes } = value;
    if (!(sameMembers(value, BATCH_MEMBERS) || sameMembers(value, [...BATCH_MEMBERS, "previous", "earlier"])) ||
        typeof value.ref !== "string" || !Array.isArray(indexes) || !indexes.length ||
        !indexes.every(Number.isInteger) || indexes.some((index, i) => i > 0 && index <= indexes[i - 1])) {
      fail("proof.malformed", `not a ${BATCH_BUNDLE_FORMAT} bundle`);
    }
    [previous, earlier] = suffixStart(value);
    targets = indexes;
  } else if (value?.format === BUNDLE_FORMAT && sameMembers(value, ["format", "checkpoint", "entries", "index"])) {
    targets = Number.isInteger(value.index) ? [value.index] : [];
  } else {
    fail("proof.malformed", `not a ${value?.format === BUNDLE_FORMAT ? BUNDLE_FORMAT : BATCH_BUNDLE_FORMAT} bundle`);
  }
  const { checkpoint, leaves } = await openEntries(value, key, origin);
  const verified = await verifySigners(leaves, targets, key);
  if (value.format === BATCH_BUNDLE_FORMAT) {
    // The batch's hash links chain: the first event names no previous one (or, in a suffix bundle, the
    // bundle's `previous`), each later one names the one before it, so no event between the first and the
    // last was left out.
    const ref = value.ref;
    let expected = previous;
    verified.forEach((leaf, i) => {
      const index = targets[i];
      const links = leaf.statement.links;
      if (!Object.prototype.hasOwnProperty.call(links, ref)) {
        fail("proof.batch_chain", `entry ${index} does not link batch ${ref}`, index);
      }
      if (links[ref] !== expected) {
        const before = i > 0 ? "the statement before it in the bundle"
          : previous !== null ? "the bundle's previous" : "the batch's first event";
        // Python writes None where JavaScript has null.
        fail("proof.batch_chain", `entry ${index} links batch ${ref} to ${links[ref] ?? "None"}, expected ` +
          `${expected ?? "None"} (${before}): an event is missing`, index);
      }
      expected = leaf.statementHash;
    });
  }
  return {
    format: value.format, ref: value.ref ?? null, origin: checkpoint.origin,
    treeSize: checkpoint.size.toString(), root: toHex(checkpoint.root), operatorKey: key.text,
    previous, earlier, complete: previous === null,
    entries: verified.map((leaf, i) => ({
      index: targets[i], type: leaf.statement.type, author: leaf.statement.author, received: leaf.received,
      statementHash: leaf.statementHash,
    })),
  };
}

// ---- The page ----------------------------------------------------------------------------------------------

// Which check failed, from an error code: the key of a translated message in the page's configuration.
function checkName(code, index) {
  if (code === "bundle.fetch") return "check_fetch";
  if (code === "browser.unsupported") return "check_unsupported";
  if (code === "proof.batch_chain") return "check_batch_chain";
  if (code === "proof.genesis") return "check_genesis";
  if (code === "proof.malformed") return "check_bundle";
  if (code.startsWith("note.") || code.startsWith("checkpoint.")) return "check_checkpoint";
  if (code === "signature.invalid") return "check_signature";
  if (code === "proof.key" || code.startsWith("key.")) return "check_key";
  if (code.startsWith("proof.")) return "check_inclusion";
  if (code.startsWith("statement.") || code.startsWith("leaf.")) {
    return index === null ? "check_bundle" : "check_record"; // the bundle's own JSON, or one entry's leaf
  }
  return "check_internal";
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function show(target, state, nodes) {
  target.replaceChildren(...nodes);
  target.hidden = false;
  target.dataset.state = state;
  target.className = `banner ${{ verified: "banner-ok", failed: "banner-danger", checking: "banner-info" }[state]}`;
}

// Checks the bundle at `url` and shows the result; after a check of the latest events only, offers to check
// the whole history (`config.full_bundle_url`).
async function run(url) {
  const target = document.getElementById("verify-result");
  const config = JSON.parse(document.getElementById("verify-config").textContent);
  const text = config.messages;
  const when = (iso) => new Date(iso).toLocaleString(config.locale, { timeZone: config.time_zone,
    dateStyle: "medium", timeStyle: "medium" });
  const count = (number) => number.toLocaleString(config.locale);
  show(target, "checking", [document.createTextNode(text.checking)]);
  delete target.dataset.code;
  delete target.dataset.index;
  try {
    if (!globalThis.crypto?.subtle) fail("browser.unsupported", "WebCrypto is not available (not a secure context?)");
    let response;
    try {
      response = await fetch(url ?? config.bundle_url, { headers: { Accept: "application/json" }, cache: "no-store" });
    } catch (error) {
      fail("bundle.fetch", `the proof bundle could not be downloaded: ${error.message}`);
    }
    if (!response.ok) fail("bundle.fetch", `the proof bundle could not be downloaded: HTTP ${response.status}`);
    let result;
    try {
      result = await verifyBundle(new Uint8Array(await response.arrayBuffer()), config.operator_key, config.origin);
    } catch (error) {
      if (error instanceof DOMException && error.name === "NotSupportedError") {
        fail("browser.unsupported", "this browser's WebCrypto has no Ed25519");
      }
      throw error;
    }
    const last = result.entries[result.entries.length - 1];
    const events = result.entries.length;
    const total = events + result.earlier;
    const numbers = { events: count(events), total: count(total), earlier: count(result.earlier) };
    const nodes = result.complete ? [
      element("strong", "", text.verified),
      element("p", "", fill(text.verified_detail, numbers)),
    ] : [
      element("strong", "", fill(text.verified_latest, numbers)),
      element("p", "", fill(text.verified_latest_detail, numbers)),
    ];
    nodes.push(element("p", "small", fill(text.checkpoint, { size: result.treeSize, time: when(last.received) })));
    nodes.push(element("p", "small", fill(text.checked_at, { time: when(new Date().toISOString()) })));
    if (!result.complete && config.full_bundle_url) {
      const button = element("button", "button verify-full", fill(text.verify_full, numbers));
      button.type = "button";
      button.addEventListener("click", () => run(config.full_bundle_url));
      nodes.push(button);
    }
    show(target, "verified", nodes);
    target.dataset.treeSize = result.treeSize;
    target.dataset.events = String(events);
    target.dataset.total = String(total);
    target.dataset.complete = String(result.complete);
  } catch (error) {
    const known = error instanceof VerifyError;
    const [code, index] = known ? [error.code, error.index] : ["internal", null];
    const nodes = [element("strong", "", text.failed), element("p", "", text[checkName(code, index)])];
    if (index !== null) nodes.push(element("p", "", fill(text.entry, { index })));
    nodes.push(element("p", "small mono", `${code}: ${known ? error.message : String(error)}`));
    show(target, "failed", nodes);
    target.dataset.code = code;
    if (index !== null) target.dataset.index = String(index);
    if (!known) console.error(error);
  }
}

export { verifyBundle, parseJson, canonicalize, readLeaf, parseVerifierKey, VerifyError };
// For pages and tests that do not import modules.
window.traceVerify = { verifyBundle, parseJson, canonicalize, readLeaf, parseVerifierKey, VerifyError };
if (document.getElementById("verify-config")) run(null);
