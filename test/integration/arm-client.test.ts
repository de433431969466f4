/**
 * The ARM client against the local ARM emulator, over real HTTPS with the emulator's self-signed CA.
 */
import { startArmEmulator, type ArmEmulator } from '../../local/arm-emulator';
import { createArmBackendClient } from '../../shared/adapters/arm/arm-client';
import type { ArmBackendClient } from '../../shared/app/arm-ports';
import { createArmCredential } from '../../shared/adapters/arm/credential';
import { backendResourceId, type BackendTarget } from '../../shared/domain/backend-id';

const scope = {
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroupName: 'rg1',
  serviceName: 'apim1',
};
const backend = (backendId: string): BackendTarget => ({ ...scope, backendId });
const single = (url: string): { properties: Record<string, unknown> } => ({ properties: { url, protocol: 'http' } });

let emulator: ArmEmulator;
let client: ArmBackendClient;

beforeAll(async () => {
  emulator = await startArmEmulator({ pageSize: 2 });
  client = createArmBackendClient({
    endpoint: emulator.url,
    apiVersion: '2024-05-01',
    credential: createArmCredential({ endpoint: emulator.url, accessToken: emulator.token }),
    caCertPem: emulator.caCertPem,
    perAttemptTimeoutMs: 2000,
    deadlineMs: 10_000,
  });
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(() => emulator.reset());

const methods = (): string[] => emulator.requests.map((r) => r.method);

it('creates, reads, lists across pages and deletes backends', async () => {
  for (const id of ['a', 'b', 'c', 'd', 'e']) {
    expect(await client.createOrUpdate(backend(id), single(`https://${id}.example`))).toMatchObject({
      kind: 'ok',
      status: 201,
    });
  }
  const got = await client.get(backend('c'));
  expect(got).toMatchObject({ kind: 'ok', body: { name: 'c', properties: { url: 'https://c.example' } } });
  const head = await client.getEntityTag(backend('c'));
  expect(head.headers.etag).toBe(emulator.getBackend(backendResourceId(backend('c')))?.etag);

  const listed = await client.list(scope);
  expect(listed.kind).toBe('ok');
  if (listed.kind === 'ok')
    expect(listed.body.value.map((b) => (b as { name: string }).name).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  expect(listed.attempts).toBe(3); // pages of 2

  expect(await client.delete(backend('a'))).toMatchObject({ kind: 'ok' });
  expect(emulator.getBackend(backendResourceId(backend('a')))).toBeUndefined();
});

it('refuses an invalid backend with the ARM error body, without retrying', async () => {
  const result = await client.createOrUpdate(backend('bad'), { properties: { protocol: 'http' } });
  expect(result.kind).toBe('armError');
  expect(result).toMatchObject({ status: 400, attempts: 1 });
  expect(methods()).toEqual(['PUT']);
});

it('waits as long as Retry-After asks before retrying', async () => {
  emulator.injectFault({ method: 'PUT', status: 429, retryAfterMs: 300 });
  const result = await client.createOrUpdate(backend('t'), single('https://t.example'));
  expect(result).toMatchObject({ kind: 'ok', attempts: 2 });
  const [first, second] = emulator.requests;
  expect(second!.time - first!.time).toBeGreaterThanOrEqual(300);
});

it('a PUT whose answer is lost after it was applied is confirmed by a GET, not re-sent', async () => {
  emulator.injectFault({ method: 'PUT', reset: 'after' });
  const result = await client.createOrUpdate(backend('r'), single('https://r.example'));
  expect(result).toMatchObject({ kind: 'ok', status: 200, attempts: 1, reads: 1 });
  expect(methods()).toEqual(['PUT', 'GET']);
});

it('a PUT reset before it was applied is re-sent after the GET', async () => {
  emulator.injectFault({ method: 'PUT', reset: 'before' });
  const result = await client.createOrUpdate(backend('r2'), single('https://r2.example'));
  expect(result).toMatchObject({ kind: 'ok', attempts: 2, reads: 1 });
  expect(methods()).toEqual(['PUT', 'GET', 'PUT']);
});

it('many concurrent updates of one backend all land (automatic ETags)', async () => {
  await client.createOrUpdate(backend('shared'), single('https://shared.example'));
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      client.update(backend('shared'), { properties: { description: `d${i}`, [`title`]: `t${i}` } }),
    ),
  );
  expect(results.map((r) => r.kind)).toEqual(Array(6).fill('ok'));
  const patches = emulator.requests.filter((r) => r.method === 'PATCH');
  expect(patches.every((p) => p.ifMatch !== undefined && p.ifMatch !== '*')).toBe(true);
  expect(patches.filter((p) => p.status === 200)).toHaveLength(6);
});

it('a stale explicit ETag is a final 412', async () => {
  await client.createOrUpdate(backend('e'), single('https://e.example'));
  const result = await client.update(backend('e'), { properties: { description: 'x' } }, { ifMatch: '"stale"' });
  expect(result).toMatchObject({ kind: 'armError', status: 412, attempts: 1 });
});

it('does not trust the emulator without its CA (verification stays on)', async () => {
  const untrusting = createArmBackendClient({
    endpoint: emulator.url,
    apiVersion: '2024-05-01',
    credential: createArmCredential({ endpoint: emulator.url, accessToken: emulator.token }),
  });
  const result = await untrusting.get(backend('x'));
  expect(result.kind).toBe('transient');
  expect(emulator.requests).toHaveLength(0);
});

it('a caller abort ends an in-flight request at once, as a transient RequestAborted', async () => {
  emulator.injectFault({ method: 'GET', delayMs: 1500, count: 1 });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const started = Date.now();
  const result = await client.get(backend('slow-read'), { signal: controller.signal });
  expect(Date.now() - started).toBeLessThan(1000);
  expect(result).toMatchObject({ kind: 'transient', error: { code: 'RequestAborted' }, attempts: 1 });
});

describe('a token endpoint that never answers', () => {
  const hangingClient = () =>
    createArmBackendClient({
      endpoint: emulator.url,
      apiVersion: '2024-05-01',
      credential: { getToken: () => new Promise<never>(() => undefined) },
      caCertPem: emulator.caCertPem,
      perAttemptTimeoutMs: 200,
      deadlineMs: 1000,
    });

  it('holds an attempt no longer than the per-attempt timeout, then gives up as Timeout at the deadline', async () => {
    const started = Date.now();
    const result = await hangingClient().get(backend('t'));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result).toMatchObject({ kind: 'transient', code: 'Timeout' });
    expect(result.attempts).toBeGreaterThanOrEqual(1);
    expect(emulator.requests).toHaveLength(0);
  });

  it('ends the wait for a token at once when the caller aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const started = Date.now();
    const result = await hangingClient().get(backend('t'), { signal: controller.signal });
    expect(Date.now() - started).toBeLessThan(150);
    expect(result).toMatchObject({ kind: 'transient', error: { code: 'RequestAborted' } });
  });
});

describe('PUT with a slow ARM (answer later than the per-attempt timeout)', () => {
  /** Writes ARM applied, whether or not the client saw the answer; waits for delayed ones to land first. */
  async function appliedPuts(id: string): Promise<number> {
    for (let i = 0; i < 100 && emulator.requests.some((r) => r.status === 0 && r.fault?.startsWith('delay')); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return emulator.requests.filter(
      (r) => r.method === 'PUT' && r.path.endsWith(`/backends/${id}`) && r.status >= 200 && r.status < 300,
    ).length;
  }

  it('an update sent on the known ETag is applied once: the re-send is refused and recognised', async () => {
    emulator.putBackend(backendResourceId(backend('slow-u')), { url: 'https://old.example', protocol: 'http' });
    const etag = emulator.getBackend(backendResourceId(backend('slow-u')))!.etag;
    emulator.injectFault({ method: 'PUT', delayMs: 2600, count: 1 });
    const result = await client.createOrUpdate(backend('slow-u'), single('https://new.example'), { currentEtag: etag });
    expect(result).toMatchObject({ kind: 'ok' });
    expect(await appliedPuts('slow-u')).toBe(1);
    expect(emulator.requests.filter((r) => r.method === 'PUT').every((r) => r.ifMatch === etag)).toBe(true);
  });

  it('a create is applied once: the client waits for the late write before re-sending', async () => {
    emulator.injectFault({ method: 'PUT', delayMs: 2600, count: 1 });
    const result = await client.createOrUpdate(backend('slow-c'), single('https://c.example'), { currentEtag: null });
    expect(result).toMatchObject({ kind: 'ok' });
    expect(await appliedPuts('slow-c')).toBe(1);
  });

  it('another writer between our read and our PUT: re-read and re-applied (last writer wins)', async () => {
    emulator.putBackend(backendResourceId(backend('raced')), { url: 'https://old.example', protocol: 'http' });
    const stale = emulator.getBackend(backendResourceId(backend('raced')))!.etag;
    emulator.putBackend(backendResourceId(backend('raced')), { url: 'https://other-writer.example', protocol: 'http' });
    const result = await client.createOrUpdate(backend('raced'), single('https://mine.example'), {
      currentEtag: stale,
    });
    expect(result).toMatchObject({ kind: 'ok', status: 200 });
    expect(emulator.getBackend(backendResourceId(backend('raced')))?.properties).toMatchObject({
      url: 'https://mine.example',
    });
    expect(methods()).toEqual(['PUT', 'HEAD', 'PUT']);
  });
});
