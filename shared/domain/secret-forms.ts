/**
 * Every form a known secret can take in text we do not control (ARM's answers and errors, which we record, publish
 * and log): the value itself, JSON-escaped, URL-encoded, base64 (standard and URL-safe, at every byte alignment, so
 * a secret inside a longer base64 string such as `user:secret` is found), and, for long secrets, any long fragment.
 * Scrubbing text is a safeguard behind redaction by path, which handles the fields we know hold secrets.
 */

/** Secrets at least this long are also scrubbed by fragment… */
export const FRAGMENT_SECRET_MIN = 12;
/** …every run of at least this many characters that occurs in one of their forms. */
export const FRAGMENT_MIN = 8;

/** The forms to scrub for one secret, exact ones first (longest first), then the fragment source forms. */
export interface SecretForms {
  exact: string[];
  /** Every window of {@link FRAGMENT_MIN} characters of the long forms. */
  grams: Set<string>;
}

function base64Forms(bytes: Buffer): string[] {
  const forms: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    // With `offset` bytes before it, the secret's own characters start after the first group; a trailing partial
    // group depends on what follows. Keep only the characters that depend on the secret alone.
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const start = offset === 0 ? 0 : 4;
    const tail = (offset + bytes.length) % 3 === 0 ? encoded.length : encoded.length - 4;
    const full = offset === 0 ? encoded.replace(/=+$/, '') : '';
    for (const core of [full, encoded.slice(start, Math.max(start, tail))]) {
      if (core.length >= 4) forms.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return forms;
}

/** The forms of each secret. Empty secrets are ignored. */
export function secretForms(secrets: readonly string[]): SecretForms {
  const exact = new Set<string>();
  const grams = new Set<string>();
  for (const secret of new Set(secrets)) {
    if (secret.length === 0) continue;
    const forms = new Set<string>([
      secret,
      JSON.stringify(secret).slice(1, -1),
      encodeURIComponent(secret),
      encodeURIComponent(secret).replace(/%20/g, '+'),
      ...base64Forms(Buffer.from(secret, 'utf8')),
    ]);
    for (const form of forms) {
      if (form.length === 0) continue;
      // Short base64 cores of a short secret would match ordinary text; keep them only for secrets worth it.
      if (form !== secret && form.length < FRAGMENT_MIN) continue;
      exact.add(form);
      if (secret.length >= FRAGMENT_SECRET_MIN && form.length >= FRAGMENT_MIN) {
        for (let i = 0; i + FRAGMENT_MIN <= form.length; i++) grams.add(form.slice(i, i + FRAGMENT_MIN));
      }
    }
  }
  return { exact: [...exact].sort((a, b) => b.length - a.length), grams };
}

/** `text` with every form, and every run of text covered by fragments of a long secret, replaced by `mask`. */
export function scrubText(text: string, forms: SecretForms, mask: string): string {
  let out = text;
  for (const form of forms.exact) if (out.includes(form)) out = out.split(form).join(mask);
  if (forms.grams.size === 0 || out.length < FRAGMENT_MIN) return out;
  const covered = new Uint8Array(out.length);
  let any = false;
  for (let i = 0; i + FRAGMENT_MIN <= out.length; i++) {
    if (forms.grams.has(out.slice(i, i + FRAGMENT_MIN))) {
      covered.fill(1, i, i + FRAGMENT_MIN);
      any = true;
    }
  }
  if (!any) return out;
  let result = '';
  for (let i = 0; i < out.length;) {
    if (covered[i] === 1) {
      while (i < out.length && covered[i] === 1) i++;
      result += mask;
    } else result += out[i++];
  }
  return result;
}
