/**
 * The secret forms encode ASCII secrets in JavaScript (ascii-base64.ts) rather than through a Buffer: the text must
 * be exactly Buffer's base64 of the same bytes, at every alignment the forms use.
 */
import fc from 'fast-check';
import { asciiBase64 } from '../../shared/domain/ascii-base64';

describe('base64 of ASCII text', () => {
  it("is Buffer's base64 of the zero bytes and the text's bytes", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)) }), (text) => {
        for (let offset = 0; offset < 3; offset++) {
          const bytes = Buffer.concat([Buffer.alloc(offset), Buffer.from(text, 'utf8')]);
          expect(asciiBase64(text, offset)).toBe(bytes.toString('base64'));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes secrets far longer than a call may take arguments (a body can hold one of 200,000 characters)', () => {
    for (const length of [8191 * 3, 8192 * 3 + 1, 100_000, 200_001]) {
      const text = 'Ab9+/'.repeat(Math.ceil(length / 5)).slice(0, length);
      for (let offset = 0; offset < 3; offset++) {
        expect(asciiBase64(text, offset)).toBe(
          Buffer.concat([Buffer.alloc(offset), Buffer.from(text)]).toString('base64'),
        );
      }
    }
  });

  it('encodes the empty text and every length around a group', () => {
    for (const text of ['', 'a', 'ab', 'abc', 'abcd', 'Contoso\\admin:proxy-secret-1']) {
      for (let offset = 0; offset < 3; offset++) {
        expect(asciiBase64(text, offset)).toBe(
          Buffer.concat([Buffer.alloc(offset), Buffer.from(text)]).toString('base64'),
        );
      }
    }
  });
});
