/**
 * The canonical JSON of a request (object keys sorted, secrets redacted), written as UTF-8 bytes straight into a
 * reused buffer for the fingerprint's hash: no key-sorted copy of the request, no string built piece by piece (which
 * the hash would first have to flatten and encode). The bytes are exactly those of `JSON.stringify` of the
 * key-sorted, redacted copy the stored fingerprints were computed from (test/unit/fingerprint-pinned.test.ts,
 * test/property/fingerprint.property.test.ts).
 */
import { REDACTED, SECRET, secretStep, type SecretState } from './redact';

/** A growable byte buffer and how much of it is written. */
export interface ByteWriter {
  buf: Buffer;
  at: number;
}

let idle: ByteWriter | undefined = { buf: Buffer.allocUnsafe(4096), at: 0 };

/**
 * Runs `write` with an empty writer: the process's one reused writer, or a new one if that is in use (a getter
 * of the value being written that fingerprints another value). `write` must not keep it.
 */
export function withWriter<T>(write: (writer: ByteWriter) => T): T {
  const writer = idle ?? { buf: Buffer.allocUnsafe(4096), at: 0 };
  idle = undefined;
  writer.at = 0;
  try {
    return write(writer);
  } finally {
    // An unusually large request does not keep its buffer for the life of the process.
    if (writer.buf.length > MAX_KEPT) writer.buf = Buffer.allocUnsafe(4096);
    idle = writer;
  }
}

const MAX_KEPT = 1 << 20;

/** Makes room for `bytes` more bytes. */
function room(writer: ByteWriter, bytes: number): void {
  if (writer.at + bytes <= writer.buf.length) return;
  const grown = Buffer.allocUnsafe(Math.max(2 * writer.buf.length, writer.at + bytes));
  writer.buf.copy(grown, 0, 0, writer.at);
  writer.buf = grown;
}

export function writeByte(writer: ByteWriter, byte: number): void {
  room(writer, 1);
  writer.buf[writer.at++] = byte;
}

export function writeBytes(writer: ByteWriter, bytes: Uint8Array): void {
  room(writer, bytes.length);
  writer.buf.set(bytes, writer.at);
  writer.at += bytes.length;
}

/** Writes text known to be ASCII (numbers, hex digests) as it is. */
export function writeAscii(writer: ByteWriter, text: string): void {
  room(writer, text.length);
  const buf = writer.buf;
  let at = writer.at;
  for (let i = 0; i < text.length; i++) buf[at++] = text.charCodeAt(i);
  writer.at = at;
}

/** Writes `JSON.stringify(text)` in UTF-8; printable ASCII (the usual text) without any call. */
export function writeString(writer: ByteWriter, text: string): void {
  const length = text.length;
  room(writer, length + 2);
  const buf = writer.buf;
  let at = writer.at;
  buf[at++] = 0x22;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    // Control characters, `"` and `\` are escaped; anything beyond ASCII takes more than one byte.
    if (code < 0x20 || code >= 0x80 || code === 0x22 || code === 0x5c) {
      // JSON.stringify escapes lone surrogates, so its text is well-formed and encodes to UTF-8 unambiguously.
      const json = JSON.stringify(text);
      room(writer, 3 * json.length);
      writer.at += writer.buf.write(json, writer.at, 'utf8');
      return;
    }
    buf[at++] = code;
  }
  buf[at++] = 0x22;
  writer.at = at;
}

const REDACTED_JSON = JSON.stringify(REDACTED);

/**
 * Writes the canonical JSON of `value` (at a path in `state`): what `JSON.stringify` writes for a copy holding only
 * plain objects (own enumerable keys, in canonical order), arrays and primitives, with secrets replaced by REDACTED
 * (their values pushed to `secrets`). Writes nothing and returns false where `JSON.stringify` drops the value
 * (undefined, a function, a symbol); inside an array that is `null`. No `toJSON` is called: the copy the stored
 * fingerprints were made from never had one that could be called.
 */
export function writeCanonical(writer: ByteWriter, value: unknown, state: SecretState, secrets: string[]): boolean {
  if (value === null) {
    writeAscii(writer, 'null');
    return true;
  }
  if (typeof value === 'object') {
    if (Array.isArray(value)) {
      writeByte(writer, 0x5b);
      for (let i = 0; i < value.length; i++) {
        if (i > 0) writeByte(writer, 0x2c);
        if (!writeCanonical(writer, value[i], state, secrets)) writeAscii(writer, 'null');
      }
      writeByte(writer, 0x5d);
      return true;
    }
    writeByte(writer, 0x7b);
    const record = value as Record<string, unknown>;
    let first = true;
    for (const key of canonicalKeys(record)) {
      const mark = writer.at;
      if (!first) writeByte(writer, 0x2c);
      writeString(writer, key);
      writeByte(writer, 0x3a);
      if (writeCanonical(writer, record[key], secretStep(state, key), secrets)) first = false;
      else writer.at = mark;
    }
    writeByte(writer, 0x7d);
    return true;
  }
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return false;
  if (state === SECRET) {
    if (typeof value === 'string' && value.length > 0) secrets.push(value);
    writeAscii(writer, REDACTED_JSON);
  } else if (typeof value === 'string') writeString(writer, value);
  // Numbers (NaN and ±Infinity as null, -0 as 0), booleans; a BigInt throws, as it always did.
  else writeAscii(writer, JSON.stringify(value));
  return true;
}

const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;
/** Up to this many names are sorted by insertion. */
const SMALL = 16;

/**
 * The keys in the order the key-sorted copy listed them: sorted by UTF-16 code units, except that integer keys
 * come first in numeric order (JavaScript objects enumerate them so, and the stored fingerprints were made that way).
 * `Object.keys` of an ordinary object already lists integer keys first and in order, so only the rest is sorted.
 */
export function canonicalKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  if (keys.length < 2) return keys;
  let split = 0;
  while (split < keys.length && isArrayIndex(keys[split]!)) split++;
  for (let i = split; i < keys.length; i++) if (isArrayIndex(keys[i]!)) return exoticOrder(keys);
  for (let i = 1; i < split; i++) if (Number(keys[i - 1]) > Number(keys[i])) return exoticOrder(keys);
  if (keys.length - split > SMALL) {
    return split === 0 ? keys.sort() : [...keys.slice(0, split), ...keys.slice(split).sort()];
  }
  // Insertion sort of the names after the integer keys: for the few keys of a request's objects, several times
  // faster than Array.prototype.sort. `>` on strings compares UTF-16 code units, as the default sort does.
  for (let i = split + 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= split && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

/** The canonical order for an object whose keys are not listed as an ordinary object's are (a Proxy). */
function exoticOrder(keys: string[]): string[] {
  const indices = keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
  return [...indices, ...keys.filter((key) => !isArrayIndex(key)).sort()];
}

function isArrayIndex(key: string): boolean {
  // Most keys are names: the first character decides without the regular expression.
  const first = key.charCodeAt(0);
  return first >= 0x30 && first <= 0x39 && ARRAY_INDEX.test(key) && Number(key) < 4294967295;
}
