import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. */
export const SIGNATURE_HEADER = 'x-signature-256';
/** Header carrying the signing time in Unix seconds; part of the signed content, so it cannot be replayed later. */
export const TIMESTAMP_HEADER = 'x-signature-timestamp';

/** What to verify a webhook call against. */
export interface SignatureSettings {
  /** Every currently valid secret (several during a rotation). */
  secrets: readonly string[];
  /** Accepted clock difference between the signer and us. */
  toleranceMs: number;
}

/** The signature a sender computes: `sha256=` + hex HMAC-SHA256 of `${timestamp}.${rawBody}`. */
export function signBody(secret: string, timestamp: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`, 'utf8').digest('hex')}`;
}

/**
 * True when the call carries a valid signature by one of the secrets and a timestamp within the tolerance.
 * Deliberately boolean: the caller answers 401 without saying which part failed. Compared in constant time.
 */
export function verifySignature(
  settings: SignatureSettings,
  headers: { signature: string | null; timestamp: string | null },
  rawBody: string,
  nowMs: number,
): boolean {
  const { signature, timestamp } = headers;
  if (signature === null || timestamp === null || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs - Number(timestamp) * 1000) > settings.toleranceMs) return false;
  const given = Buffer.from(signature.trim(), 'utf8');
  let valid = false;
  for (const secret of settings.secrets) {
    const expected = Buffer.from(signBody(secret, timestamp, rawBody), 'utf8');
    // Check every secret (no early exit) so timing does not tell which secret or how many exist.
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid;
}
