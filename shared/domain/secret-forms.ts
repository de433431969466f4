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
 * one of the hashed windows. The list of every exact form (sorted) is only made for such a text: most requests
 * never need it.
 */

import { asciiBase64 } from './ascii-base64';

/** Secrets at least this long are also scrubbed by fragment… */
export const FRAGMENT_SECRET_MIN = 12;
/** …every run of at least this many characters that occurs in one of their forms (the window hash packs 8). */
export const FRAGMENT_MIN = 8;

/** The forms to scrub for the secrets of one request. */
export interface SecretForms {
  /**
   * Every exact form in the order the secrets give them, repeats included; {@link exactForms} makes the distinct,
   * longest-first list from it on the first text that needs it (most texts never do).
   */
  readonly all: readonly string[];
  /** The exact forms of short secrets: the only ones no window hash stands for. */
  readonly short: readonly string[];
  /** The forms whose every window of {@link FRAGMENT_MIN} characters is a fragment to scrub. */
  readonly long: readonly string[];
  /**
   * The rolling hash of each of those windows, in an open-addressing table (a Set of numbers costs several times
   * more to fill, and is filled per request): slots hold `hash + 1`, 0 is empty. Its length is a power of two. An
   * array of small integers rather than an Int32Array: a typed array's store is allocated outside the heap through
   * the runtime, which took 7 % of the trigger path's CPU (row 2b's profile); an array is allocated in the heap.
   */
  readonly hashes: readonly number[];
  /** The distinct exact forms, longest first, once a text needed them. */
  exact: string[] | undefined;
}

/** Hashes are kept to 29 bits, so `hash + 1` is a small integer (no boxing in the table). */
const MASK = 0x1fffffff;

/**
 * A window of {@link FRAGMENT_MIN} (= 8) characters is kept as two 32-bit words of one byte per character, shifted
 * in as the window moves: each character is read once, with no multiplication to take the leaving one out. A
 * character is its code folded to 8 bits, with base64's URL-safe `-` and `_` read as `+` and `/`: a URL-safe
 * spelling then has the window hashes of the standard one, which need not be hashed again. (Text with `-`, `_` or
 * other characters folding alike only takes the exact check a little more often: the hashes only ever pick the
 * texts and windows that are checked exactly.)
 */
function byteAt(text: string, i: number): number {
  const code = text.charCodeAt(i);
  const c = code === 0x2d ? 0x2b : code === 0x5f ? 0x2f : code;
  return (c ^ (c >>> 8)) & 0xff;
}

/** The hash of the window whose first four characters are `high` and last four `low`. */
function windowHash(high: number, low: number): number {
  const h = Math.imul(high, 0x9e3779b1) ^ low;
  return Math.imul(h ^ (h >>> 16), 0x85ebca6b) ^ (h >>> 13);
}

/** Adds `hash` to the table (linear probing; the table is never more than half full). */
function insert(table: number[], hash: number): void {
  const slot = (hash & MASK) + 1;
  const last = table.length - 1;
  let i = slot & last;
  while (table[i] !== 0 && table[i] !== slot) i = (i + 1) & last;
  table[i] = slot;
}

function contains(table: readonly number[], hash: number): boolean {
  const slot = (hash & MASK) + 1;
  const last = table.length - 1;
  for (let i = slot & last; ; i = (i + 1) & last) {
    const held = table[i];
    if (held === slot) return true;
    if (held === 0) return false;
  }
}

/** True when some window of FRAGMENT_MIN characters of `text` hashes to a value in `table`. */
function anyWindowIn(text: string, table: readonly number[]): boolean {
  let high = 0;
  let low = 0;
  for (let end = 0; end < text.length; end++) {
    high = (high << 8) | (low >>> 24);
    low = (low << 8) | byteAt(text, end);
    if (end >= FRAGMENT_MIN - 1 && contains(table, windowHash(high, low))) return true;
  }
  return false;
}

/** Adds the hash of every window of `form` to the table. */
function insertWindows(table: number[], form: string): void {
  let high = 0;
  let low = 0;
  for (let end = 0; end < form.length; end++) {
    high = (high << 8) | (low >>> 24);
    low = (low << 8) | byteAt(form, end);
    if (end >= FRAGMENT_MIN - 1) insert(table, windowHash(high, low));
  }
}

/** `core` and, when it differs, its URL-safe spelling; `core` also to `hashed` if given. */
function withUrlSafe(core: string, out: string[], hashed: string[] | undefined): void {
  out.push(core);
  if (hashed !== undefined && core.length >= FRAGMENT_MIN) hashed.push(core);
  if (core.includes('+') || core.includes('/')) out.push(core.replace(/\+/g, '-').replace(/\//g, '_'));
}

/**
 * The base64 forms of `secret` (`byteLength` UTF-8 bytes) at every byte alignment, appended to `out`, and those
 * whose windows are not all another form's to `hashed` (URL-safe spellings hash as the standard ones; the aligned
 * core is the start of the full encoding).
 */
function base64Forms(secret: string, byteLength: number, out: string[], hashed: string[] | undefined): void {
  // ASCII (one byte per character) is encoded in JavaScript; otherwise the secret behind 0, 1 or 2 zero bytes is
  // one buffer, encoded from three starts.
  const padded = byteLength === secret.length ? undefined : Buffer.from(`\0\0${secret}`, 'utf8');
  for (let offset = 0; offset < 3; offset++) {
    // With `offset` bytes before it, the secret's own characters start after the first group; a trailing partial
    // group depends on what follows. Keep only the characters that depend on the secret alone.
    const encoded = padded === undefined ? asciiBase64(secret, offset) : padded.toString('base64', 2 - offset);
    if (offset === 0) {
      let end = encoded.length;
      while (end > 0 && encoded.charCodeAt(end - 1) === 0x3d) end--;
      const full = end === encoded.length ? encoded : encoded.slice(0, end);
      if (full.length >= 4) withUrlSafe(full, out, hashed);
    }
    const start = offset === 0 ? 0 : 4;
    const tail = (offset + byteLength) % 3 === 0 ? encoded.length : encoded.length - 4;
    const core = encoded.slice(start, Math.max(start, tail));
    if (core.length >= 4) withUrlSafe(core, out, offset === 0 ? undefined : hashed);
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

/**
 * The forms of `secret` worth scrubbing, appended to `out`: the value itself, and those of the other forms that are
 * at least {@link FRAGMENT_MIN} long (short base64 cores of a short secret would match ordinary text). For a long
 * secret, `hashed` gets those whose windows must be hashed (see {@link base64Forms}).
 */
function formsOf(secret: string, out: string[], hashed: string[] | undefined): void {
  const first = out.length;
  out.push(secret);
  hashed?.push(secret);
  // Letters, digits and `-_.!~*'()` are the same JSON-escaped and URL-encoded, and one byte each in UTF-8.
  const plain = PLAIN.test(secret);
  if (!plain) {
    const escaped = JSON.stringify(secret).slice(1, -1);
    const encoded = urlEncoded(secret);
    out.push(escaped, encoded);
    hashed?.push(escaped, encoded);
    if (encoded.includes('%20')) {
      const plus = encoded.replace(/%20/g, '+');
      out.push(plus);
      hashed?.push(plus);
    }
  }
  const byteLength = plain ? secret.length : Buffer.byteLength(secret, 'utf8');
  if (byteLength >= SHORTEST_BASE64_KEPT) base64Forms(secret, byteLength, out, hashed);
  let kept = first + 1;
  for (let i = first + 1; i < out.length; i++) if (out[i]!.length >= FRAGMENT_MIN) out[kept++] = out[i]!;
  out.length = kept;
}

/** The forms of each secret. Empty secrets are ignored. */
export function secretForms(secrets: readonly string[]): SecretForms {
  const distinct: string[] = [];
  const all: string[] = [];
  const short: string[] = [];
  const long: string[] = [];
  const hashed: string[] = [];
  for (const secret of secrets) {
    if (secret.length === 0 || distinct.includes(secret)) continue;
    distinct.push(secret);
    const first = all.length;
    const isLong = secret.length >= FRAGMENT_SECRET_MIN;
    formsOf(secret, all, isLong ? hashed : undefined);
    const kind = isLong ? long : short;
    for (let i = first; i < all.length; i++) kind.push(all[i]!);
  }
  // A form two secrets share is only hashed twice; the exact list drops repeats when it is made.
  let windowCount = 0;
  for (const form of hashed) windowCount += form.length - FRAGMENT_MIN + 1;
  let size = 16;
  while (size < 2 * windowCount) size *= 2;
  const hashes: number[] = hashed.length === 0 ? [] : new Array<number>(size).fill(0);
  for (const form of hashed) insertWindows(hashes, form);
  return { all, short, long, hashes, exact: undefined };
}

/**
 * The distinct exact forms, longest first (of equal length, in the order the secrets give them): an insertion sort
 * of the few forms, stable, skipping repeats.
 */
function exactForms(forms: SecretForms): string[] {
  if (forms.exact !== undefined) return forms.exact;
  const exact: string[] = [];
  for (const form of forms.all) {
    if (exact.includes(form)) continue;
    let j = exact.length;
    exact.push(form);
    while (j > 0 && exact[j - 1]!.length < form.length) {
      exact[j] = exact[j - 1]!;
      j--;
    }
    exact[j] = form;
  }
  return (forms.exact = exact);
}

/** True when `text` may hold a form or a fragment of a secret (false: it certainly holds none). */
function mayHold(text: string, forms: SecretForms): boolean {
  for (const form of forms.short) if (text.includes(form)) return true;
  return forms.hashes.length > 0 && anyWindowIn(text, forms.hashes);
}

/** True when `window` is a window of one of the long forms (a hash match, confirmed). */
function isFragment(window: string, long: readonly string[]): boolean {
  for (const form of long) if (form.includes(window)) return true;
  return false;
}

/** `text` with every form, and every run of text covered by fragments of a long secret, replaced by `mask`. */
export function scrubText(text: string, forms: SecretForms, mask: string): string {
  if (!mayHold(text, forms)) return text;
  const long = forms.long;
  let out = text;
  for (const form of exactForms(forms)) if (out.includes(form)) out = out.split(form).join(mask);
  if (long.length === 0 || out.length < FRAGMENT_MIN) return out;
  let covered: Uint8Array | undefined;
  let high = 0;
  let low = 0;
  for (let end = 0; end < out.length; end++) {
    high = (high << 8) | (low >>> 24);
    low = (low << 8) | byteAt(out, end);
    if (end < FRAGMENT_MIN - 1) continue;
    const start = end - FRAGMENT_MIN + 1;
    if (contains(forms.hashes, windowHash(high, low)) && isFragment(out.slice(start, end + 1), long)) {
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
