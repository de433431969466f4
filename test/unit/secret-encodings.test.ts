/**
 * Issue 10, item 7: a known secret is scrubbed in every encoding ARM (or a proxy) might echo it in, and URL userinfo
 * is redacted wherever it appears.
 */
import type { ArmBackendClient } from '../../shared/app/arm-ports';
import { processChange, type ProcessDeps } from '../../shared/app/process-change';
import { REDACTED, redactSecrets, scrubbableSecrets, scrubSecretValues } from '../../shared/domain/redact';
import { sanitizeOutcome } from '../../shared/domain/sanitize-outcome';
import type { Outcome } from '../../shared/domain/contract/outcome';

const SECRET = 'Sup3r"Secret/Value+With=Stuff';
const PROXY_PASSWORD = 'proxy-p4ss-long-enough';
const request = {
  operation: 'createOrUpdate',
  target:
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ApiManagement/service/a/backends/b',
  body: {
    properties: {
      url: 'https://svc:url-passw0rd-xyz@backend.example/api',
      protocol: 'http',
      credentials: { header: { 'x-key': [SECRET] } },
      proxy: { url: 'http://proxy.example', username: 'pxuser', password: PROXY_PASSWORD },
    },
  },
};
const secrets = scrubbableSecrets(request);
const scrub = (text: string) => scrubSecretValues({ message: text }, secrets).message;
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('scrubbing every encoding of a known secret', () => {
  it.each([
    ['as is', SECRET],
    ['JSON-escaped', JSON.stringify(SECRET).slice(1, -1)],
    ['URL-encoded', encodeURIComponent(SECRET)],
    ['base64', b64(SECRET)],
    ['base64 URL-safe', b64(SECRET).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')],
    ['base64 inside base64 of user:secret', b64(`someone:${SECRET}`)],
    ['base64 of the proxy user:password (Basic)', b64(`pxuser:${PROXY_PASSWORD}`)],
    ['a long fragment', SECRET.slice(3, 15)],
    ['the URL password, decoded', 'url-passw0rd-xyz'],
  ])('%s', (_name, form) => {
    const text = scrub(`ARM said: <${form}> is not accepted`);
    expect(text).toContain(REDACTED);
    expect(text).not.toContain(form);
    // Nothing of 8 characters or more of the secret survives in any form.
    for (let i = 0; i + 8 <= SECRET.length; i++) expect(text).not.toContain(SECRET.slice(i, i + 8));
  });

  it('leaves ordinary text alone', () => {
    expect(scrub('The backend URL must be absolute.')).toBe('The backend URL must be absolute.');
  });
});

describe('URL userinfo', () => {
  it('is redacted in url and proxy.url, and in any text quoting them', () => {
    const redacted = redactSecrets({
      properties: {
        url: 'https://user:pa55word@host.example/x',
        proxy: { url: 'http://tok3n@proxy.example:8080' },
        description: 'see https://a:b@c.example',
      },
    });
    expect(redacted.properties.url).toBe(`https://user:${REDACTED}@host.example/x`);
    expect(redacted.properties.proxy.url).toBe(`http://${REDACTED}@proxy.example:8080`);
    expect(redacted.properties.description).toBe(`see https://a:${REDACTED}@c.example`);
  });
});

describe('an outcome built from ARM answers', () => {
  const outcome: Outcome = {
    requestId: 'r1',
    status: 'succeeded',
    attempts: 1,
    durationMs: 1,
    backend: {
      properties: {
        // ARM copied the secret into another field of a success body.
        description: `copied ${SECRET}`,
        title: `enc ${b64(SECRET)}`,
        url: 'https://svc:url-passw0rd-xyz@backend.example/api',
      },
    },
    error: { code: 'X', message: `escaped ${JSON.stringify(SECRET)}` },
  };

  it('carries no form of a secret after sanitizing', () => {
    const text = JSON.stringify(sanitizeOutcome(outcome, request));
    for (const form of [SECRET, b64(SECRET), JSON.stringify(SECRET).slice(1, -1), 'url-passw0rd-xyz']) {
      expect(text).not.toContain(form);
    }
    expect(text).toContain('r1');
  });

  it('processChange answers and publishes the sanitized outcome, whatever ARM echoed', async () => {
    const echo = {
      kind: 'ok',
      status: 201,
      headers: {},
      attempts: 1,
      reads: 0,
      body: {
        properties: { description: `echo ${encodeURIComponent(SECRET)} and ${b64(`pxuser:${PROXY_PASSWORD}`)}` },
      },
    };
    const arm = {
      createOrUpdate: () => Promise.resolve(echo),
      get: () =>
        Promise.resolve({
          kind: 'armError',
          status: 404,
          headers: {},
          error: { code: 'NotFound', message: '' },
          attempts: 1,
          reads: 0,
        }),
    } as unknown as ArmBackendClient;
    const published: Outcome[] = [];
    const deps = {
      arm,
      clock: { now: () => Date.now(), sleep: () => Promise.resolve() },
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
      settings: { allowDelete: false, deadlineMs: 10_000, skipUnchanged: false, allowedScopes: [] },
      ledger: undefined,
      publisher: { publish: (o: Outcome) => (published.push(o), Promise.resolve()) },
      leaseMs: 60_000,
    } as unknown as ProcessDeps;
    const result = await processChange(request, { fallbackRequestId: 'r2', onTransient: 'answer' }, deps);
    expect(result.kind).toBe('outcome');
    const text = JSON.stringify([result, published]);
    expect(text).not.toContain(encodeURIComponent(SECRET));
    expect(text).not.toContain(b64(`pxuser:${PROXY_PASSWORD}`));
    expect(text).toContain(REDACTED);
  });
});

describe('a secret that is not well-formed UTF-16', () => {
  // JSON can carry a lone surrogate ("\ud800"); validation accepts it in a header value, so scrubbing must not throw
  // (encodeURIComponent does), or the request would be answered 500 and a queued one retried until dead-lettered.
  const lone = JSON.parse('"lone-\\ud800-surrogate-secret"') as string;

  it('is scrubbed, as is the rest of its text, without throwing', () => {
    const scrubbed = scrubSecretValues({ message: `ARM said ${lone} and ${lone.slice(0, 9)}` }, [lone]).message;
    expect(scrubbed).toBe(`ARM said ${REDACTED} and ${REDACTED}`);
  });
});

describe('a very long secret', () => {
  // A body may be up to MAX_BODY_BYTES (256 KB by default) and a header value has no length limit: a 200,000-character
  // secret must be scrubbed in every encoding without throwing, or the request would be answered 500 and a queued
  // one retried until dead-lettered.
  const long = 'k3y/With+Chars='.repeat(13_334).slice(0, 200_000);

  it('is scrubbed as is and in base64 without throwing', () => {
    const text = `echo ${long} and ${b64(long)} and ${b64(`user:${long}`)}`;
    const scrubbed = scrubSecretValues({ message: text }, [long]).message;
    expect(scrubbed).not.toContain(long.slice(0, 40));
    expect(scrubbed).not.toContain(b64(long).slice(8, 48));
    expect(scrubbed.startsWith(`echo ${REDACTED}`)).toBe(true);
  });
});
