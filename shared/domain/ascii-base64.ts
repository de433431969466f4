/**
 * Base64 of ASCII text in JavaScript, for the secret forms (secret-forms.ts): a request's few secrets are encoded
 * at three byte alignments each, and a Buffer plus three native `toString('base64')` calls cost ~0.8 µs per secret,
 * about three times this. Non-ASCII text keeps the Buffer (its UTF-8 bytes are not its char codes).
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CODES: readonly number[] = Array.from(ALPHABET, (c) => c.charCodeAt(0));
const PAD = 0x3d;
/** Char codes per `String.fromCharCode` call: spreading more arguments than the stack holds throws a RangeError. */
const CHARS_PER_CALL = 8192;

/**
 * The standard base64, with `=` padding, of `offset` zero bytes followed by the bytes of `text`, which must be ASCII
 * (every char code below 0x80): what `Buffer.concat([Buffer.alloc(offset), Buffer.from(text)]).toString('base64')`
 * gives.
 */
export function asciiBase64(text: string, offset: number): string {
  const length = offset + text.length;
  const byteAt = (k: number): number => (k < offset ? 0 : text.charCodeAt(k - offset));
  const codes = new Array<number>(4 * Math.ceil(length / 3));
  let at = 0;
  let k = 0;
  for (; k + 2 < length; k += 3) {
    const group = (byteAt(k) << 16) | (byteAt(k + 1) << 8) | byteAt(k + 2);
    codes[at++] = CODES[group >>> 18]!;
    codes[at++] = CODES[(group >>> 12) & 63]!;
    codes[at++] = CODES[(group >>> 6) & 63]!;
    codes[at++] = CODES[group & 63]!;
  }
  if (k < length) {
    const two = k + 1 < length;
    const group = (byteAt(k) << 16) | (two ? byteAt(k + 1) << 8 : 0);
    codes[at++] = CODES[group >>> 18]!;
    codes[at++] = CODES[(group >>> 12) & 63]!;
    codes[at++] = two ? CODES[(group >>> 6) & 63]! : PAD;
    codes[at++] = PAD;
  }
  if (codes.length <= CHARS_PER_CALL) return String.fromCharCode(...codes);
  // A long secret (a body may be up to MAX_BODY_BYTES): built from slices, never one call with every code.
  let text64 = '';
  for (let i = 0; i < codes.length; i += CHARS_PER_CALL) {
    text64 += String.fromCharCode(...codes.slice(i, i + CHARS_PER_CALL));
  }
  return text64;
}
