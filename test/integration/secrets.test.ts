/**
 * "No secret in a log": unique secrets are planted in every secret-bearing field (authorization parameter, header
 * and query values, proxy password) of many requests — applied, patched, dry-run, invalid, refused by ARM,
 * throttled, conflicting — sent through every trigger (HTTP sync, HTTP async + queue, queue directly, timer), and then
 * looked for everywhere the service writes: logs, thrown errors, HTTP answers, the status endpoint, the result events
 * (parsed and raw broker messages) and the raw ledger entities. They must be nowhere — and must have reached ARM,
 * so the search cannot pass because nothing happened.
 */
import { randomBytes } from 'node:crypto';
import { HttpRequest, type HttpResponseInit } from '@azure/functions';
import { TableClient } from '@azure/data-tables';
import { backendChangeStatusHandler } from '../../functions/backend-change-status';
import { backendChangesHandler } from '../../functions/backend-changes';
import { processBackendChangeHandler } from '../../functions/process-backend-change';
import { scheduledReconnectHandler } from '../../functions/scheduled-reconnect';
import { REDACTED } from '../../shared/domain/redact';
import { EVENTS, QUEUE, SERVICE_ID, startStack, SUB, type Stack } from '../support/stack';

jest.setTimeout(60_000);

let stack: Stack;

/** Every secret planted, and the ones sent in a write the contract accepts (so ARM must have seen them). */
const planted: string[] = [];
const meantForArm = new Set<string>();

/** What each trigger answered, by scenario name. */
const answers = new Map<string, HttpResponseInit>();
const thrown: string[] = [];
const statusAnswers: HttpResponseInit[] = [];
const requestIds = new Set<string>();

let counter = 0;
function secret(kind: string): string {
  const value = `sEcReT-${kind}-${++counter}-${randomBytes(6).toString('hex')}`;
  planted.push(value);
  return value;
}

/** Credentials with secrets under awkward names too (a digits-only header name, a query name with a space). */
function credentials(): Record<string, unknown> {
  return {
    header: {
      'x-api-key': [secret('header')],
      '123': [secret('header')],
      'X-Multi': [secret('header'), secret('header')],
    },
    query: { code: [secret('query')], 'a b': [secret('query')] },
    authorization: { scheme: 'Basic', parameter: secret('auth') },
  };
}

function proxy(): Record<string, unknown> {
  return { url: 'http://proxy.example:8080', username: 'proxyuser', password: secret('proxy') };
}

/** Collects every secret in a value (for marking which ones a valid request sends to ARM). */
function secretsIn(value: unknown): string[] {
  const text = JSON.stringify(value);
  return planted.filter((s) => text.includes(s));
}

const backend = (name: string) => `${SERVICE_ID}/backends/${name}`;
/**
 * A backend in another subscription. A 429 pauses every write to its subscription until its Retry-After (the client
 * shares ARM's per-subscription write bucket), so each throttling scenario gets a subscription of its own.
 */
const elsewhere = (subscription: string, name: string) => backend(name).replace(SUB, subscription);

function single(): Record<string, unknown> {
  return { properties: { url: 'https://b.example/api', protocol: 'http', credentials: credentials(), proxy: proxy() } };
}

function post(payload: string, headers: Record<string, string> = {}): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost/api/backend-changes',
    headers: { 'content-type': 'application/json', ...headers },
    body: { string: payload },
  });
}

async function viaHttp(
  name: string,
  request: Record<string, unknown> | string,
  options: { async?: boolean; writes?: boolean } = {},
): Promise<HttpResponseInit> {
  if (typeof request !== 'string' && typeof request['requestId'] === 'string') requestIds.add(request['requestId']);
  if (options.writes !== false) for (const s of secretsIn(request)) meantForArm.add(s);
  const res = await backendChangesHandler(() => stack.services)(
    post(
      typeof request === 'string' ? request : JSON.stringify(request),
      options.async ? { prefer: 'respond-async' } : {},
    ),
    stack.context('backendChanges'),
  );
  answers.set(name, res);
  return res;
}

async function viaQueue(
  message: unknown,
  meta: { messageId: string; deliveryCount?: number },
  options: { writes?: boolean } = {},
): Promise<void> {
  requestIds.add(meta.messageId);
  if (options.writes !== false) for (const s of secretsIn(message)) meantForArm.add(s);
  try {
    await processBackendChangeHandler(() => stack.services)(
      message,
      stack.context('processBackendChange', { deliveryCount: 1, correlationId: `c-${meta.messageId}`, ...meta }),
    );
  } catch (error) {
    thrown.push(error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error));
  }
}

/** Serialises anything, Buffers as their UTF-8 text (so raw message bytes are searched as text). */
function text(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    const buffer = v as { type?: unknown; data?: unknown };
    if (buffer?.type === 'Buffer' && Array.isArray(buffer.data)) return Buffer.from(buffer.data as number[]).toString();
    return v;
  });
}

async function ledgerEntities(): Promise<Record<string, unknown>[]> {
  const table = TableClient.fromConnectionString(
    stack.settings['AzureWebJobsStorage']!,
    stack.services.config.ledger.tableName,
    {
      allowInsecureConnection: true,
    },
  );
  const out: Record<string, unknown>[] = [];
  for await (const entity of table.listEntities()) out.push(entity);
  return out;
}

async function eventsSettled(expected: number): Promise<void> {
  for (let i = 0; i < 200 && stack.events().length < expected; i++) await new Promise((r) => setTimeout(r, 25));
}

beforeAll(async () => {
  stack = await startStack({ RECONNECT_TARGETS: SERVICE_ID, RECONNECT_AFTER: 'PT2M' });

  // --- HTTP, synchronous ---
  await viaHttp('put', { requestId: 'sec-put', operation: 'createOrUpdate', target: backend('s1'), body: single() });
  await viaHttp('patch', {
    requestId: 'sec-patch',
    operation: 'update',
    target: backend('s1'),
    body: { properties: { credentials: credentials(), proxy: proxy() } },
  });
  // A dry run whose plan removes header names the current state has ('123', 'X-Multi') and changes the others.
  await viaHttp(
    'dry-put',
    {
      requestId: 'sec-dry-put',
      operation: 'createOrUpdate',
      target: backend('s1'),
      dryRun: true,
      body: {
        properties: {
          url: 'https://b.example/api',
          protocol: 'http',
          credentials: { header: { 'x-api-key': [secret('header')] }, query: { code: [secret('query')] } },
        },
      },
    },
    { writes: false },
  );
  await viaHttp(
    'dry-patch',
    {
      requestId: 'sec-dry-patch',
      operation: 'update',
      target: backend('s1'),
      dryRun: true,
      body: { properties: { credentials: credentials(), proxy: proxy() } },
    },
    { writes: false },
  );
  await viaHttp(
    'invalid',
    {
      requestId: 'sec-invalid',
      operation: 'createOrUpdate',
      target: backend('s9'),
      body: { properties: { ...(single()['properties'] as object), protocol: 'ftp' } },
    },
    { writes: false },
  );
  // Secrets where they do not belong: a header value that is not a list, a query list with a number in it.
  await viaHttp(
    'misplaced',
    {
      requestId: 'sec-misplaced',
      operation: 'update',
      target: backend('s1'),
      body: {
        properties: {
          credentials: { header: { 'x-k': secret('header') }, query: { q: [secret('query'), 5] } },
          proxy: { ...proxy(), port: 8080 },
        },
      },
    },
    { writes: false },
  );
  await viaHttp('arm-refused', {
    requestId: 'sec-pool',
    operation: 'createOrUpdate',
    target: backend('pool1'),
    body: {
      properties: {
        type: 'Pool',
        pool: { services: [{ id: backend('missing-member') }] },
        credentials: credentials(),
        proxy: proxy(),
      },
    },
  });
  stack.emulator.injectFault({ method: 'PUT', status: 429, retryAfter: '30', count: Infinity });
  await viaHttp('throttled', {
    requestId: 'sec-429',
    operation: 'createOrUpdate',
    target: elsewhere('22222222-2222-2222-2222-222222222222', 's2'),
    body: single(),
  });
  stack.emulator.clearFaults();
  stack.emulator.injectFault({ method: 'PATCH', status: 503, retryAfter: '30', count: Infinity });
  await viaHttp('unavailable', {
    requestId: 'sec-503',
    operation: 'update',
    target: backend('s1'),
    body: { properties: { proxy: proxy() } },
  });
  stack.emulator.clearFaults();
  // The same requestId as an applied change, with other secrets: a conflict, answered without ARM.
  await viaHttp(
    'conflict',
    { requestId: 'sec-put', operation: 'createOrUpdate', target: backend('s1'), body: single() },
    { writes: false },
  );
  // Truncated JSON carrying a secret.
  await viaHttp('not-json', `{"operation":"update","body":{"properties":{"proxy":{"password":"${secret('proxy')}"`, {
    writes: false,
  });

  // --- HTTP, asynchronous, then the queue delivery it enqueued ---
  await viaHttp(
    'async',
    { requestId: 'sec-async', operation: 'createOrUpdate', target: backend('s3'), body: single() },
    { async: true },
  );
  const queued = stack.broker.messages(QUEUE).find((m) => m.messageId === 'sec-async');
  if (queued === undefined) throw new Error('the async request was not enqueued');
  await viaQueue(queued.body, { messageId: 'sec-async' });
  await viaHttp(
    'async-invalid',
    {
      requestId: 'sec-async-invalid',
      operation: 'createOrUpdate',
      target: backend('s3'),
      body: { properties: { credentials: credentials(), proxy: proxy() } },
    },
    { async: true, writes: false },
  );

  // --- The queue trigger directly: object, JSON text and bytes bodies ---
  await viaQueue({ operation: 'createOrUpdate', target: backend('s4'), body: single() }, { messageId: 'sec-q-put' });
  await viaQueue(
    JSON.stringify({
      operation: 'update',
      target: backend('s4'),
      body: { properties: { credentials: credentials() } },
    }),
    { messageId: 'sec-q-patch' },
  );
  await viaQueue(
    Buffer.from(
      JSON.stringify({ operation: 'createOrUpdate', target: backend('s4'), dryRun: true, body: single() }),
      'utf8',
    ),
    { messageId: 'sec-q-dry' },
    { writes: false },
  );
  await viaQueue(
    { operation: 'createOrUpdate', target: backend('s5'), body: { properties: { proxy: proxy(), protocol: 'ftp' } } },
    { messageId: 'sec-q-invalid' },
    { writes: false },
  );
  await viaQueue(
    `{"operation":"createOrUpdate","body":{"properties":{"credentials":${JSON.stringify(credentials())}`,
    {
      messageId: 'sec-q-notjson',
    },
    { writes: false },
  );
  await viaQueue(
    {
      operation: 'createOrUpdate',
      target: backend('pool2'),
      body: { properties: { type: 'Pool', pool: { services: [{ id: backend('nope') }] }, credentials: credentials() } },
    },
    { messageId: 'sec-q-pool' },
  );
  stack.emulator.injectFault({ method: 'PUT', status: 429, retryAfter: '30', count: Infinity });
  const throttled = {
    operation: 'createOrUpdate',
    target: elsewhere('33333333-3333-3333-3333-333333333333', 's6'),
    body: single(),
  };
  await viaQueue(throttled, { messageId: 'sec-q-429', deliveryCount: 1 });
  await viaQueue(throttled, { messageId: 'sec-q-429', deliveryCount: 10 });
  stack.emulator.clearFaults();

  // --- The timer: it lists the service's backends (ARM returns them with their secrets) and fans out reconnects ---
  stack.emulator.putBackend(backend('seeded'), single()['properties'] as Record<string, unknown>);
  for (const s of secretsIn(stack.emulator.getBackend(backend('seeded')))) meantForArm.add(s);
  try {
    await scheduledReconnectHandler(
      () => stack.services,
      () => '0 0 3 * * *',
    )(undefined, stack.context('scheduledReconnect'));
  } catch (error) {
    thrown.push(String(error));
  }
  for (const message of stack.broker.messages(QUEUE).filter((m) => String(m.messageId).startsWith('reconnect-'))) {
    await viaQueue(message.body, { messageId: String(message.messageId) });
  }

  // --- "What happened to my change?" for every requestId ---
  const status = backendChangeStatusHandler(() => stack.services);
  for (const requestId of requestIds) {
    statusAnswers.push(
      await status(
        new HttpRequest({
          method: 'GET',
          url: `http://localhost/api/backend-changes/${requestId}`,
          params: { requestId },
        }),
        stack.context('backendChangeStatus'),
      ),
    );
  }
  await eventsSettled(20);
});
afterAll(() => stack?.stop());

/** The planted secrets found in `haystack`. */
function leaks(haystack: string): string[] {
  return planted.filter((s) => haystack.includes(s));
}

describe('the scenarios really ran (so the search below is not vacuous)', () => {
  it('each trigger answered as the scenario intends', () => {
    const status = (name: string) => answers.get(name)?.status;
    expect({
      put: status('put'),
      patch: status('patch'),
      dryPut: status('dry-put'),
      dryPatch: status('dry-patch'),
      invalid: status('invalid'),
      misplaced: status('misplaced'),
      armRefused: status('arm-refused'),
      throttled: status('throttled'),
      unavailable: status('unavailable'),
      conflict: status('conflict'),
      notJson: status('not-json'),
      async: status('async'),
      asyncInvalid: status('async-invalid'),
    }).toEqual({
      put: 201,
      patch: 200,
      dryPut: 200,
      dryPatch: 200,
      invalid: 400,
      misplaced: 400,
      armRefused: 400,
      // Still transient at the end of the synchronous budget: handed to the queue (HTTP_SYNC_SECONDS).
      throttled: 202,
      unavailable: 202,
      conflict: 409,
      notJson: 400,
      async: 202,
      asyncInvalid: 400,
    });
    expect((answers.get('arm-refused')?.jsonBody as { status: string }).status).toBe('failed');
    expect(thrown.some((t) => t.startsWith('RedeliverError'))).toBe(true);
    const byStatus = (requestId: string) => stack.events().find((e) => e.data.requestId === requestId)?.data.status;
    expect(byStatus('sec-async')).toBe('succeeded');
    expect(byStatus('sec-q-put')).toBe('succeeded');
    expect(byStatus('sec-q-patch')).toBe('succeeded');
    expect(byStatus('sec-q-invalid')).toBe('rejected');
    expect(byStatus('sec-q-pool')).toBe('failed');
    expect(byStatus('sec-q-429')).toBe('failed');
    expect(stack.events().filter((e) => e.data.operation === 'reconnect').length).toBeGreaterThanOrEqual(4);
  });

  it('the secrets of every accepted request reached ARM (sent, and stored by the emulator)', () => {
    const sent = text(stack.emulator.requests.map((r) => r.body));
    const seeded = text(stack.emulator.getBackend(backend('seeded')));
    expect([...meantForArm].filter((s) => !sent.includes(s) && !seeded.includes(s))).toEqual([]);
    expect(meantForArm.size).toBeGreaterThan(40);
    const stored = stack.emulator.getBackend(backend('s1'))?.properties as { credentials?: unknown; proxy?: unknown };
    expect(secretsIn(stored.credentials).length).toBeGreaterThan(0);
    expect(secretsIn(stored.proxy).length).toBe(1);
  });

  it('ARM answered with the secrets, and the service redacted them', () => {
    expect(text(answers.get('put')?.jsonBody)).toContain(REDACTED);
    expect(text((answers.get('dry-put')?.jsonBody as { plan?: unknown }).plan)).toContain(REDACTED);
  });
});

describe('no planted secret appears anywhere the service writes', () => {
  it('not in the logs', () => {
    expect(stack.logs.length).toBeGreaterThan(10);
    expect(leaks(stack.logs.join('\n'))).toEqual([]);
  });

  it('not in errors thrown to the host', () => {
    expect(leaks(thrown.join('\n'))).toEqual([]);
  });

  it('not in any HTTP answer (body or headers)', () => {
    expect(answers.size).toBeGreaterThan(10);
    for (const [name, res] of answers) expect({ name, leaks: leaks(text(res)) }).toEqual({ name, leaks: [] });
  });

  it('not in the status endpoint’s answers', () => {
    expect(statusAnswers.filter((r) => r.status === 200).length).toBeGreaterThan(10);
    expect(leaks(text(statusAnswers))).toEqual([]);
  });

  it('not in the result events, parsed or as raw broker messages (properties and dead letters included)', () => {
    expect(stack.events().length).toBeGreaterThan(15);
    expect(leaks(text(stack.events()))).toEqual([]);
    expect(leaks(text(stack.broker.messages(EVENTS)))).toEqual([]);
    expect(leaks(text(stack.broker.deadLetters(EVENTS)))).toEqual([]);
  });

  it('not in the raw ledger entities', async () => {
    const entities = await ledgerEntities();
    expect(entities.length).toBeGreaterThan(10);
    expect(text(entities)).toContain(REDACTED); // outcomes with redacted backends are stored
    expect(leaks(text(entities))).toEqual([]);
  });
});
