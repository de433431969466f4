import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { signBody, verifySignature, type SignatureSettings } from '../../shared/adapters/webhook-signature';

const NOW_MS = 1_750_000_000_000;
const NOW_S = String(NOW_MS / 1000);
const TOLERANCE_MS = 300_000;
const BODY = JSON.stringify({ operation: 'reconnect', target: '/subscriptions/x/…' });

const settings = (...secrets: string[]): SignatureSettings => ({ secrets, toleranceMs: TOLERANCE_MS });
const headers = (signature: string | null, timestamp: string | null) => ({ signature, timestamp });

describe('signBody', () => {
  it('is sha256= followed by the hex HMAC-SHA256 of "<timestamp>.<raw body>" (what senders implement)', () => {
    const expected = createHmac('sha256', 'k1').update(`${NOW_S}.${BODY}`, 'utf8').digest('hex');
    expect(signBody('k1', NOW_S, BODY)).toBe(`sha256=${expected}`);
  });
});

describe('verifySignature', () => {
  it('accepts a valid signature with a current timestamp', () => {
    expect(verifySignature(settings('k1'), headers(signBody('k1', NOW_S, BODY), NOW_S), BODY, NOW_MS)).toBe(true);
  });

  it('tolerates surrounding whitespace in the signature header (proxies add it)', () => {
    const sig = ` ${signBody('k1', NOW_S, BODY)} `;
    expect(verifySignature(settings('k1'), headers(sig, NOW_S), BODY, NOW_MS)).toBe(true);
  });

  it('refuses a signature made with a different secret', () => {
    expect(verifySignature(settings('k1'), headers(signBody('k2', NOW_S, BODY), NOW_S), BODY, NOW_MS)).toBe(false);
  });

  it('accepts a signature by any one of several rotated secrets, and none by a retired one', () => {
    const rotating = settings('old', 'current', 'next');
    for (const secret of ['old', 'current', 'next']) {
      expect(verifySignature(rotating, headers(signBody(secret, NOW_S, BODY), NOW_S), BODY, NOW_MS)).toBe(true);
    }
    expect(verifySignature(rotating, headers(signBody('retired', NOW_S, BODY), NOW_S), BODY, NOW_MS)).toBe(false);
  });

  it('refuses everything when no secret is configured', () => {
    expect(verifySignature(settings(), headers(signBody('', NOW_S, BODY), NOW_S), BODY, NOW_MS)).toBe(false);
  });

  it('refuses a tampered body', () => {
    const sig = signBody('k1', NOW_S, BODY);
    const tampered = BODY.replace('reconnect', 'delete');
    expect(verifySignature(settings('k1'), headers(sig, NOW_S), tampered, NOW_MS)).toBe(false);
    expect(verifySignature(settings('k1'), headers(sig, NOW_S), `${BODY} `, NOW_MS)).toBe(false);
  });

  it('refuses a tampered timestamp, even one still inside the tolerance', () => {
    const sig = signBody('k1', NOW_S, BODY);
    const moved = String(Number(NOW_S) - 10);
    expect(verifySignature(settings('k1'), headers(sig, moved), BODY, NOW_MS)).toBe(false);
  });

  it('accepts timestamps up to the tolerance either side and refuses older or later ones (replays)', () => {
    const at = (offsetSeconds: number): boolean => {
      const ts = String(Number(NOW_S) + offsetSeconds);
      return verifySignature(settings('k1'), headers(signBody('k1', ts, BODY), ts), BODY, NOW_MS);
    };
    expect(at(-300)).toBe(true);
    expect(at(300)).toBe(true);
    expect(at(-301)).toBe(false);
    expect(at(301)).toBe(false);
    expect(at(-86_400)).toBe(false);
    expect(at(86_400)).toBe(false);
  });

  it('refuses a call without the signature or the timestamp header', () => {
    const sig = signBody('k1', NOW_S, BODY);
    expect(verifySignature(settings('k1'), headers(null, NOW_S), BODY, NOW_MS)).toBe(false);
    expect(verifySignature(settings('k1'), headers(sig, null), BODY, NOW_MS)).toBe(false);
    expect(verifySignature(settings('k1'), headers(null, null), BODY, NOW_MS)).toBe(false);
  });

  it.each([
    ['the hex without the sha256= prefix', (sig: string) => sig.slice('sha256='.length)],
    ['another algorithm label', (sig: string) => sig.replace('sha256=', 'sha1=')],
    ['a truncated digest', (sig: string) => sig.slice(0, -2)],
    ['an extra character', (sig: string) => `${sig}0`],
    ['base64 instead of hex', (sig: string) => `sha256=${Buffer.from(sig.slice(7), 'hex').toString('base64')}`],
    ['an empty header', () => ''],
    ['only the prefix', () => 'sha256='],
    ['two signatures joined', (sig: string) => `${sig},${sig}`],
  ])('refuses a malformed signature header: %s', (_name, mangle) => {
    const sig = mangle(signBody('k1', NOW_S, BODY));
    expect(verifySignature(settings('k1'), headers(sig, NOW_S), BODY, NOW_MS)).toBe(false);
  });

  it.each([
    ['milliseconds instead of seconds', String(NOW_MS)],
    ['a fraction', `${NOW_S}.0`],
    ['a negative number', `-${NOW_S}`],
    ['an ISO date', new Date(NOW_MS).toISOString()],
    ['padding', ` ${NOW_S}`],
    ['empty', ''],
  ])('refuses a malformed timestamp header: %s, even when signed with it', (_name, timestamp) => {
    const sig = signBody('k1', timestamp, BODY);
    expect(verifySignature(settings('k1'), headers(sig, timestamp), BODY, NOW_MS)).toBe(false);
  });

  it('for any body and secret: the signature verifies, and any change to the body breaks it', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.nat(),
        (body, secret, seed) => {
          const sig = signBody(secret, NOW_S, body);
          expect(verifySignature(settings(secret), headers(sig, NOW_S), body, NOW_MS)).toBe(true);
          const changed =
            body.length === 0 ? 'x' : body.slice(0, seed % body.length) + body.slice((seed % body.length) + 1);
          expect(verifySignature(settings(secret), headers(sig, NOW_S), changed, NOW_MS)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
