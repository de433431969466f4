import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying `sha256=<hex HMAC-SHA256 of the signed content>` (see {@link signedContent}). */
export const SIGNATURE_HEADER = 'x-signature-256';
/** Header carrying the signing time in Unix seconds; part of the signed content, so it cannot be replayed later. */
export const TIMESTAMP_HEADER = 'x-signature-timestamp';
/** The caller's idempotency key; with WEBHOOK_SECRETS it is part of the signed content (or refused). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** What to verify a webhook call against. */
export interface SignatureSettings {
  /** Every currently valid secret (several during a rotation). */
  secrets: readonly string[];
  /** Accepted clock difference between the signer and us. */
  toleranceMs: number;
}

/** The raw body: bytes as received (verified as they are, never re-encoded), or text (encoded as UTF-8). */
export type RawBody = string | Uint8Array;

/**
 * The signature a sender computes: `sha256=` + hex HMAC-SHA256 of `<timestamp>.<raw body>`, or, when the call
 * carries an `Idempotency-Key`, of `<timestamp>.<key>.<raw body>`. Signing the key in means a replayer can neither
 * add, change nor drop it (each changes the signed content). The two forms cannot be confused: a key is 1–128 of
 * `[A-Za-z0-9._:-]`, and a change request's raw body starts with `{` or whitespace, which no key contains.
 */
export function signBody(secret: string, timestamp: string, rawBody: RawBody, idempotencyKey?: string): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(idempotencyKey === undefined ? `${timestamp}.` : `${timestamp}.${idempotencyKey}.`, 'utf8');
  hmac.update(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody);
  return `sha256=${hmac.digest('hex')}`;
}

/** The headers a signature is judged by. */
export interface SignatureHeaders {
  signature: string | null;
  timestamp: string | null;
  /** The Idempotency-Key header as sent (trimmed), when there is one. */
  idempotencyKey?: string | undefined;
}

/**
 * Verifies a webhook call. Returns undefined when the signature is missing, wrong, by no current secret or outside
 * the tolerance (the caller answers 401 without saying which part failed); otherwise a replay id: a value that is
 * the same for every replay of this signed call and that no one without a secret can produce for another call
 * (SHA-256 of the signed content's HMAC as we computed it, so header spelling cannot vary it). Compared in constant
 * time.
 */
export function verifyWebhookCall(
  settings: SignatureSettings,
  headers: SignatureHeaders,
  rawBody: RawBody,
  nowMs: number,
): { replayId: string } | undefined {
  const { signature, timestamp, idempotencyKey } = headers;
  if (signature === null || timestamp === null || !/^\d{1,12}$/.test(timestamp)) return undefined;
  if (Math.abs(nowMs - Number(timestamp) * 1000) > settings.toleranceMs) return undefined;
  const given = Buffer.from(signature.trim(), 'utf8');
  let matched: Buffer | undefined;
  for (const secret of settings.secrets) {
    const expected = Buffer.from(signBody(secret, timestamp, rawBody, idempotencyKey), 'utf8');
    // Check every secret (no early exit) so timing does not tell which secret or how many exist.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = expected;
  }
  if (matched === undefined) return undefined;
  return { replayId: createHash('sha256').update(matched).digest('hex') };
}

/** True when the call carries a valid signature by one of the secrets within the tolerance (see verifyWebhookCall). */
export function verifySignature(
  settings: SignatureSettings,
  headers: SignatureHeaders,
  rawBody: RawBody,
  nowMs: number,
): boolean {
  return verifyWebhookCall(settings, headers, rawBody, nowMs) !== undefined;
}
