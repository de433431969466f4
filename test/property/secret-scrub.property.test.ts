/**
 * Scrubbing takes a fast path (a text is first checked by rolling hashes of the long secrets' windows, and only a
 * text that may hold a form is rewritten). Its result must be exactly that of the plain definition: every exact form
 * replaced, longest first, then every run covered by an 8-character window of a long secret's form replaced. The
 * definition is written out here as it stood before the fast path, and compared on random secrets and texts that
 * embed their forms, fragments of them, and near misses.
 */
import fc from 'fast-check';
import { FRAGMENT_MIN, FRAGMENT_SECRET_MIN, scrubText, secretForms } from '../../shared/domain/secret-forms';
import { outcomeScrubber, redactSecrets, secretScrubber } from '../../shared/domain/redact';

function referenceForms(secrets: readonly string[]): { exact: string[]; grams: Set<string> } {
  const base64 = (bytes: Buffer): string[] => {
    const forms: string[] = [];
    for (let offset = 0; offset < 3; offset++) {
      const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
      const start = offset === 0 ? 0 : 4;
      const tail = (offset + bytes.length) % 3 === 0 ? encoded.length : encoded.length - 4;
      const full = offset === 0 ? encoded.replace(/=+$/, '') : '';
      for (const core of [full, encoded.slice(start, Math.max(start, tail))]) {
        if (core.length >= 4) forms.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
      }
    }
    return forms;
  };
  const exact = new Set<string>();
  const grams = new Set<string>();
  for (const secret of new Set(secrets)) {
    if (secret.length === 0) continue;
    const forms = new Set<string>([
      secret,
      JSON.stringify(secret).slice(1, -1),
      encodeURIComponent(secret),
      encodeURIComponent(secret).replace(/%20/g, '+'),
      ...base64(Buffer.from(secret, 'utf8')),
    ]);
    for (const form of forms) {
      if (form.length === 0 || (form !== secret && form.length < FRAGMENT_MIN)) continue;
      exact.add(form);
      if (secret.length >= FRAGMENT_SECRET_MIN && form.length >= FRAGMENT_MIN) {
        for (let i = 0; i + FRAGMENT_MIN <= form.length; i++) grams.add(form.slice(i, i + FRAGMENT_MIN));
      }
    }
  }
  return { exact: [...exact].sort((a, b) => b.length - a.length), grams };
}

function referenceScrub(text: string, forms: { exact: string[]; grams: Set<string> }, mask: string): string {
  let out = text;
  for (const form of forms.exact) if (out.includes(form)) out = out.split(form).join(mask);
  if (forms.grams.size === 0 || out.length < FRAGMENT_MIN) return out;
  const covered = new Uint8Array(out.length);
  for (let i = 0; i + FRAGMENT_MIN <= out.length; i++) {
    if (forms.grams.has(out.slice(i, i + FRAGMENT_MIN))) covered.fill(1, i, i + FRAGMENT_MIN);
  }
  let result = '';
  for (let i = 0; i < out.length;) {
    if (covered[i] === 1) {
      while (i < out.length && covered[i] === 1) i++;
      result += mask;
    } else result += out[i++];
  }
  return result;
}

// Characters that encodings change (quote, backslash, %, +, /, space, non-ASCII) and that base64 and URLs use.
const CHARS = [...'abcXYZ019 :/+=_-"\\%@.éü😀'];
const text = (max: number) => fc.array(fc.constantFrom(...CHARS), { maxLength: max }).map((cs) => cs.join(''));

describe('scrubbing with the fast path', () => {
  it('gives exactly the result of the plain definition', () => {
    fc.assert(
      fc.property(
        fc.array(text(24), { minLength: 1, maxLength: 4 }),
        text(30),
        text(10),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        (secrets, before, after, pick, from, length) => {
          const reference = referenceForms(secrets);
          const forms = secretForms(secrets);
          // Embed one of the forms, or a piece of one (a fragment, or a near miss when too short).
          const form = reference.exact[pick % Math.max(1, reference.exact.length)] ?? '';
          const start = from % (form.length + 1);
          const piece = form.slice(start, start + (length % (form.length + 1)));
          for (const sample of [before, `${before}${form}${after}`, `${before}${piece}${after}`, `${piece}${form}`]) {
            expect(scrubText(sample, forms, '[R]')).toBe(referenceScrub(sample, reference, '[R]'));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("an outcome's parts redacted and scrubbed in one walk", () => {
  const keys = fc.constantFrom('credentials', 'header', 'query', 'authorization', 'parameter', 'proxy', 'password');
  const value = fc.letrec((tie) => ({
    any: fc.oneof(
      { depthSize: 'small' },
      text(30),
      fc.constantFrom('[REDACTED]', 'https://user:pa55word-long-one@host/x', 'see http://tok3n-1234567890@proxy'),
      fc.integer(),
      fc.constant(null),
      fc.array(tie('any'), { maxLength: 3 }),
      fc.dictionary(fc.oneof(keys, text(6), fc.constant('__proto__')), tie('any'), { maxKeys: 4 }),
    ),
  }));

  it('gives what redacting and then scrubbing gives', () => {
    fc.assert(
      fc.property(fc.array(text(24), { maxLength: 3 }), value.any, (secrets, random) => {
        // Through JSON, as ARM's answers arrive: `__proto__` is then an own key.
        const echo = secrets.map((secret) => `ARM says ${secret.slice(1)}!`);
        const body = JSON.parse(JSON.stringify({ random, echo: [echo, { message: echo.join(' ') }] })) as unknown;
        const expected = secretScrubber(secrets)(redactSecrets(body));
        const actual = outcomeScrubber(secrets).redactAndScrub(body);
        expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
        expect(actual).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });
});
