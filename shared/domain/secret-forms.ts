/**
 * Every form a known secret can take in text we do not control (ARM's answers and errors, which we record, publish
 * and log): the value itself, JSON-escaped, URL-encoded, base64 (standard and URL-safe, at every byte alignment, so
 * a secret inside a longer base64 string such as `user:secret` is found), and, for long secrets, any long fragment.
 * Scrubbing text is a safeguard behind redaction by path, which handles the fields we know hold secrets.
 *
 * Almost no text holds a secret, so a text is first checked cheaply: the forms of short secrets with `includes`, and
 * every window of {@link FRAGMENT_MIN} characters by a rolling hash against the hashes of the long secrets' windows
 * (no string is cut out of the text for that). Only a text that may hold a form takes the exact replacement below,
 * whose result is the same as if every text took it: a form of a long secret is at least that long, so it contains
 * one of the hashed windows.
 */

/** Secrets at least this long are also scrubbed by fragment… */
export const FRAGMENT_SECRET_MIN = 12;
/** …every run of at least this many characters that occurs in one of their forms. */
export const FRAGMENT_MIN = 8;

/** The forms to scrub for the secrets of one request. */
export interface SecretForms {
  /** Every exact form (sorted longest first on the first text that needs them: most texts never do). */
  exact: string[];
  sorted: boolean;
  /** The exact forms of short secrets: the only ones no window hash stands for. */
  short: string[];
  /** The forms whose every window of {@link FRAGMENT_MIN} characters is a fragment to scrub. */
  long: string[];
  /**
   * The rolling hash of each of those windows, in an open-addressing table (a Set of numbers costs several times
   * more to fill, and is filled per request): slots hold `hash + 1`, 0 is empty. Its length is a power of two.
   */
  hashes: number[];
}

/** Multiplier of the rolling hash, and its power for the character leaving the window. */
const BASE = 0x01000193;
let power = 1;
for (let i = 1; i < FRAGMENT_MIN; i++) power = Math.imul(power, BASE);
const OUT_POWER = power;
/** Hashes are kept to 29 bits, so `hash + 1` is a small integer (no boxing in the table). */
const MASK = 0x1fffffff;

/** The hash of the first FRAGMENT_MIN characters of `text`. */
function firstHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < FRAGMENT_MIN; i++) hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) | 0;
  return hash;
}

/** The hash of the window of `text` that ends with `end`, from `hash`, that of the window one character before. */
function rolled(hash: number, text: string, end: number): number {
  return (Math.imul(hash - Math.imul(text.charCodeAt(end - FRAGMENT_MIN), OUT_POWER), BASE) + text.charCodeAt(end)) | 0;
}

/** Adds `hash` to the table (linear probing; the table is never more than half full). */
function insert(table: number[], hash: number): void {
  const slot = (hash & MASK) + 1;
  const last = table.length - 1;
  let i = slot & last;
  while (table[i] !== 0 && table[i] !== slot) i = (i + 1) & last;
  table[i] = slot;
}

function contains(table: number[], hash: number): boolean {
  const slot = (hash & MASK) + 1;
  const last = table.length - 1;
  for (let i = slot & last; ; i = (i + 1) & last) {
    const held = table[i];
    if (held === slot) return true;
    if (held === 0) return false;
  }
}

/** True when some window of FRAGMENT_MIN characters of `text` hashes to a value in `table`. */
function anyWindowIn(text: string, table: number[]): boolean {
  if (text.length < FRAGMENT_MIN) return false;
  let hash = firstHash(text);
  if (contains(table, hash)) return true;
  for (let end = FRAGMENT_MIN; end < text.length; end++) {
    hash = rolled(hash, text, end);
    if (contains(table, hash)) return true;
  }
  return false;
}

/** `core` and, when it differs, its URL-safe spelling. */
function withUrlSafe(core: string, out: string[]): void {
  out.push(core);
  if (core.includes('+') || core.includes('/')) out.push(core.replace(/\+/g, '-').replace(/\//g, '_'));
}

/** The base64 forms of `secret` (`byteLength` UTF-8 bytes) at every byte alignment, appended to `out`. */
function base64Forms(secret: string, byteLength: number, out: string[]): void {
  // The secret behind 0, 1 or 2 zero bytes: one buffer, encoded from three starts.
  const padded = Buffer.from(`\0\0${secret}`, 'utf8');
  for (let offset = 0; offset < 3; offset++) {
    // With `offset` bytes before it, the secret's own characters start after the first group; a trailing partial
    // group depends on what follows. Keep only the characters that depend on the secret alone.
    const encoded = padded.toString('base64', 2 - offset);
    if (offset === 0) {
      const full = encoded.endsWith('=') ? encoded.replace(/=+$/, '') : encoded;
      if (full.length >= 4) withUrlSafe(full, out);
    }
    const start = offset === 0 ? 0 : 4;
    const tail = (offset + byteLength) % 3 === 0 ? encoded.length : encoded.length - 4;
    const core = encoded.slice(start, Math.max(start, tail));
    if (core.length >= 4) withUrlSafe(core, out);
  }
}

/**
 * A secret of fewer UTF-8 bytes than this has no base64 form of FRAGMENT_MIN characters or more, and shorter
 * encoded forms are not kept: its base64 forms need not be computed.
 */
const SHORTEST_BASE64_KEPT = 6;

/** A UTF-16 surrogate without its other half (JSON can carry one: `"\\ud800"`). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `encodeURIComponent(secret)`, which throws on a lone surrogate: that is encoded as UTF-8 encodes it (U+FFFD),
 * so a request carrying one is still answered rather than failing in its outcome's scrubbing.
 */
function urlEncoded(secret: string): string {
  try {
    return encodeURIComponent(secret);
  } catch {
    return encodeURIComponent(secret.replace(LONE_SURROGATE, '\uFFFD'));
  }
}

/** Characters `encodeURIComponent` and JSON leave as they are. */
const PLAIN = /^[A-Za-z0-9\-_.!~*'()]*$/;

/** The forms of each secret. Empty secrets are ignored. */
export function secretForms(secrets: readonly string[]): SecretForms {
  const exact = new Set<string>();
  const short = new Set<string>();
  const long = new Set<string>();
  let windowCount = 0;
  const forms: string[] = [];
  for (const secret of new Set(secrets)) {
    if (secret.length === 0) continue;
    forms.length = 0;
    forms.push(secret);
    // Letters, digits and `-_.!~*'()` are the same JSON-escaped and URL-encoded, and one byte each in UTF-8.
    const plain = PLAIN.test(secret);
    if (!plain) {
      const encoded = urlEncoded(secret);
      forms.push(JSON.stringify(secret).slice(1, -1), encoded);
      if (encoded.includes('%20')) forms.push(encoded.replace(/%20/g, '+'));
    }
    const byteLength = plain ? secret.length : Buffer.byteLength(secret, 'utf8');
    if (byteLength >= SHORTEST_BASE64_KEPT) base64Forms(secret, byteLength, forms);
    const isLong = secret.length >= FRAGMENT_SECRET_MIN;
    for (const form of forms) {
      if (form.length === 0) continue;
      // Short base64 cores of a short secret would match ordinary text; keep them only for secrets worth it.
      if (form !== secret && form.length < FRAGMENT_MIN) continue;
      exact.add(form);
      if (isLong && form.length >= FRAGMENT_MIN) {
        if (!long.has(form)) windowCount += form.length - FRAGMENT_MIN + 1;
        long.add(form);
      } else short.add(form);
    }
  }
  let size = 16;
  while (size < 2 * windowCount) size *= 2;
  const hashes = new Array<number>(size).fill(0);
  for (const form of long) {
    let hash = firstHash(form);
    insert(hashes, hash);
    for (let end = FRAGMENT_MIN; end < form.length; end++) {
      hash = rolled(hash, form, end);
      insert(hashes, hash);
    }
  }
  return { exact: [...exact], sorted: false, short: [...short], long: [...long], hashes };
}

/** True when `text` may hold a form or a fragment of a secret (false: it certainly holds none). */
function mayHold(text: string, forms: SecretForms): boolean {
  for (const form of forms.short) if (text.includes(form)) return true;
  return forms.long.length > 0 && anyWindowIn(text, forms.hashes);
}

/** True when `window` is a window of one of the long forms (a hash match, confirmed). */
function isFragment(window: string, forms: SecretForms): boolean {
  for (const form of forms.long) if (form.includes(window)) return true;
  return false;
}

/** `text` with every form, and every run of text covered by fragments of a long secret, replaced by `mask`. */
export function scrubText(text: string, forms: SecretForms, mask: string): string {
  if (!mayHold(text, forms)) return text;
  let out = text;
  if (!forms.sorted) {
    forms.exact.sort((a, b) => b.length - a.length);
    forms.sorted = true;
  }
  for (const form of forms.exact) if (out.includes(form)) out = out.split(form).join(mask);
  if (forms.long.length === 0 || out.length < FRAGMENT_MIN) return out;
  let covered: Uint8Array | undefined;
  let hash = 0;
  for (let end = FRAGMENT_MIN - 1; end < out.length; end++) {
    hash = end === FRAGMENT_MIN - 1 ? firstHash(out) : rolled(hash, out, end);
    const start = end - FRAGMENT_MIN + 1;
    if (contains(forms.hashes, hash) && isFragment(out.slice(start, end + 1), forms)) {
      covered ??= new Uint8Array(out.length);
      covered.fill(1, start, end + 1);
    }
  }
  if (covered === undefined) return out;
  let result = '';
  for (let i = 0; i < out.length;) {
    if (covered[i] === 1) {
      while (i < out.length && covered[i] === 1) i++;
      result += mask;
    } else result += out[i++];
  }
  return result;
}
