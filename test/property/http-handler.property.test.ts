/**
 * Property-based tests of `POST /api/backend-changes` against the real stack (ARM emulator over HTTPS, AMQP broker,
 * Azurite ledger): whatever body, content type and headers arrive, the handler answers (never throws, never 500),
 * nothing invalid reaches ARM, and every 400 says which field is wrong.
 */
import { HttpRequest, type HttpResponseInit } from '@azure/functions';
import fc from 'fast-check';
import { backendChangesHandler } from '../../functions/backend-changes';
import { parseChangeRequest } from '../../shared/domain/contract/change-request';
import { SERVICE_ID, startStack, SUB, type Stack } from '../support/stack';

jest.setTimeout(60_000);

let stack: Stack;
beforeAll(async () => {
  // Small body limit so the 413 path is exercised by generated bodies too.
  stack = await startStack({ MAX_BODY_BYTES: '4096' });
});
afterAll(() => stack?.stop());

const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/cloudevents+json',
  'application/merge-patch+json',
  ' application/json ',
];
const OTHER_TYPES = ['text/plain', 'text/json', 'application/x-www-form-urlencoded', 'multipart/form-data', 'json', ''];

/** Printable ASCII, as HTTP header values can carry (the Headers class refuses CR/LF and NUL itself). */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });

const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...JSON_TYPES) },
  { weight: 1, arbitrary: fc.constantFrom(...OTHER_TYPES) },
  { weight: 1, arbitrary: headerText },
  { weight: 1, arbitrary: headerText.map((s) => `application/json${s}`) },
);

const target = { subscriptionId: SUB, resourceGroupName: 'rg1', serviceName: 'apimService1' };

/** Mostly-valid requests with one field possibly broken, so generation reaches deep into the schema. */
const requestLike = fc
  .record({
    operation: fc.constantFrom('createOrUpdate', 'update', 'reconnect', 'delete'),
    backendId: fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom('p1', 'p2', 'p3') },
      fc.string({ unit: 'binary', maxLength: 10 }),
    ),
    properties: fc.oneof(
      { weight: 3, arbitrary: fc.constant({ url: 'https://p.example/', protocol: 'http' }) },
      fc.record(
        {
          url: fc.oneof(fc.webUrl(), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
          protocol: fc.oneof(fc.constantFrom('http', 'soap', 'ftp'), fc.jsonValue({ maxDepth: 1 })),
          description: fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
          circuitBreaker: fc.jsonValue({ maxDepth: 3 }),
          credentials: fc.record(
            { header: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 })) },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: [] },
      ),
    ),
    extra: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }), {
      nil: undefined,
    }),
  })
  .map(({ operation, backendId, properties, extra }) => ({
    operation,
    target: { ...target, backendId },
    ...(operation === 'delete' ? {} : { body: { properties } }),
    ...extra,
  }));

/** The body as sent: arbitrary text, arbitrary JSON, request-like JSON, or arbitrary bytes. */
const payload: fc.Arbitrary<{ text?: string; bytes?: Uint8Array }> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ text })),
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ text: JSON.stringify(v) })),
  { weight: 5, arbitrary: requestLike.map((v) => ({ text: JSON.stringify(v) })) },
  fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ bytes })),
  fc.string({ maxLength: 10 }).map((s) => ({ text: `{"operation":"delete","target":${JSON.stringify(s)}` })),
  fc.nat({ max: 6000 }).map((n) => ({ text: JSON.stringify({ operation: 'update', pad: 'x'.repeat(n) }) })),
);

/** The value one time in five, else undefined. */
const sometimes = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

const extraHeaders = fc
  .record({
    prefer: sometimes(fc.oneof(fc.constant('respond-async'), headerText)),
    // Callers' declared lengths may be anything; only one above MAX_BODY_BYTES is refused up front.
    contentLength: sometimes(fc.oneof(fc.nat({ max: 10_000 }).map(String), headerText)),
  })
  .map(({ prefer, contentLength }) => ({
    ...(prefer === undefined ? {} : { prefer }),
    ...(contentLength === undefined ? {} : { 'content-length': contentLength }),
  }));

function post(body: { text?: string; bytes?: Uint8Array }, headers: Record<string, string>): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost/api/backend-changes',
    headers,
    body: body.bytes === undefined ? { string: body.text ?? '' } : { bytes: body.bytes },
  });
}

/** Would the contract accept this body as a change request? (What may reach ARM at all.) */
function acceptable(type: string, body: { text?: string; bytes?: Uint8Array }): boolean {
  if (!/^application\/([\w.+-]*\+)?json\b/i.test(type.trim())) return false;
  const text = body.bytes === undefined ? (body.text ?? '') : Buffer.from(body.bytes).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return false;
  }
  return parseChangeRequest(raw).ok;
}

const OUR_REFUSALS = [400, 403, 409, 413, 415];

it('answers any body, content type and headers without throwing or a 500; invalid input never reaches ARM', async () => {
  const handler = backendChangesHandler(() => stack.services);
  let reachedArm = 0;
  await fc.assert(
    fc.asyncProperty(contentType, payload, extraHeaders, async (type, body, headers) => {
      const before = stack.emulator.requests.length;
      const res: HttpResponseInit = await handler(
        post(body, { ...headers, 'content-type': type }),
        stack.context('backendChanges'),
      );
      const armCalls = stack.emulator.requests.length - before;
      reachedArm += armCalls > 0 ? 1 : 0;

      expect(typeof res.status).toBe('number');
      expect(res.status).toBeLessThan(500);
      expect(res.jsonBody).toBeDefined();
      if (!acceptable(type, body)) {
        expect(armCalls).toBe(0);
        expect(OUR_REFUSALS).toContain(res.status);
      }
      if (res.status === 400) {
        const details = (res.jsonBody as { error?: { details?: { target?: string }[] } }).error?.details ?? [];
        expect(details.length).toBeGreaterThan(0);
        const jsonRoot = details.length === 1 && details[0]!.target === undefined;
        // Only a JSON value that is not an object at all has no field to name: the request itself is wrong.
        if (!jsonRoot) expect(details.some((d) => typeof d.target === 'string' && d.target !== '')).toBe(true);
      }
    }),
    { numRuns: 250 },
  );
  // Guard against a vacuous run: some generated requests were valid and did reach ARM.
  expect(reachedArm).toBeGreaterThan(0);
});

it('a JSON body that is not an object is refused with 400 and one InvalidType detail, nothing sent to ARM', async () => {
  const handler = backendChangesHandler(() => stack.services);
  const before = stack.emulator.requests.length;
  for (const text of ['null', '1', '"x"', '[]', '[{"operation":"delete"}]', 'true']) {
    const res = await handler(post({ text }, { 'content-type': 'application/json' }), stack.context('backendChanges'));
    expect(res.status).toBe(400);
    expect(res.jsonBody.error.details).toEqual([{ code: 'InvalidType', message: expect.any(String) }]);
  }
  expect(stack.emulator.requests.length).toBe(before);
});

it('a backend id of any characters either is refused before ARM or names exactly that backend at ARM', async () => {
  const handler = backendChangesHandler(() => stack.services);
  const tricky = fc.string({
    unit: fc.constantFrom(
      'a',
      'B',
      '1',
      '-',
      '.',
      '~',
      '!',
      '/',
      '\\',
      '%',
      '2F',
      '?',
      '#',
      '\u2215',
      '\uFF0F',
      '\u0000',
      ' ',
    ),
    maxLength: 8,
  });
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 20 })), async (backendId) => {
      const before = stack.emulator.requests.length;
      const body = JSON.stringify({ operation: 'reconnect', target: { ...target, backendId } });
      const res = await handler(post({ text: body }, { 'content-type': 'application/json' }), stack.context('x'));
      const calls = stack.emulator.requests.slice(before);
      if (res.status === 400) {
        expect(calls).toHaveLength(0);
        return;
      }
      // Accepted: ARM was asked about this backend and no other (404 from ARM when it does not exist).
      sent++;
      expect(calls.length).toBeGreaterThan(0);
      for (const call of calls) expect(call.path).toBe(`${SERVICE_ID}/backends/${backendId}/reconnect`);
    }),
    { numRuns: 150 },
  );
  expect(sent).toBeGreaterThan(0);
});
