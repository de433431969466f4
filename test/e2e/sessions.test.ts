import { startLocalRuntime, type LocalRuntime } from '../../local/runtime/runtime';
import { SERVICE_ID, SUB } from '../support/stack';
import { waitFor } from '../support/wait-for';

/**
 * CHANGE_REQUESTS_SESSIONS=true end to end: the local runtime with a session-enabled change-request queue (on the
 * embedded broker) applies the changes to one backend strictly in the order they were sent, one at a time, while
 * another backend's changes proceed in parallel.
 */

const EVENTS = 'backend-change-results/Subscriptions/all';
const ORDERED = 'ordered-b';
const SLOW = 'slow-b';
/** The emulator holds each PATCH of the slow backend this long, so work on the other backend can overlap it. */
const SLOW_PATCH_MS = 300;

let runtime: LocalRuntime;
let stopped = false;
const logs: string[] = [];

beforeAll(async () => {
  runtime = await startLocalRuntime({
    port: 0,
    log: (line) => logs.push(line),
    settings: {
      CHANGE_REQUESTS_SESSIONS: 'true',
      ARM_ENDPOINT: undefined,
      ServiceBusConnection: undefined,
      AzureWebJobsStorage: undefined,
      RECONNECT_SCHEDULE: undefined,
    },
  });
  for (const backendId of [ORDERED, SLOW]) {
    runtime.emulator!.putBackend(backendIdOf(backendId), { url: `https://${backendId}/`, protocol: 'http' });
  }
}, 30_000);

afterAll(async () => {
  if (!stopped) await runtime.stop();
});

function backendIdOf(backendId: string): string {
  return `${SERVICE_ID}/backends/${backendId}`;
}

function events(): Array<{ data: { requestId: string; status: string } }> {
  return runtime.broker!.messages(EVENTS).map((m) => m.body as { data: { requestId: string; status: string } });
}

/** Asks for an asynchronous update of the backend's description; the answer is 202 once it is queued. */
async function postUpdate(backendId: string, requestId: string, description: string): Promise<number> {
  const res = await fetch(`${runtime.url}/api/backend-changes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({
      requestId,
      operation: 'update',
      target: { subscriptionId: SUB, resourceGroupName: 'rg1', serviceName: 'apimService1', backendId },
      body: { properties: { description } },
    }),
  });
  await res.body?.cancel();
  return res.status;
}

/** The PATCHes the emulator received for a backend, in arrival order. */
function patches(backendId: string): Array<{ description: unknown; time: number }> {
  return runtime
    .emulator!.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/backends/${backendId}`))
    .map((r) => ({
      description: (r.body as { properties?: { description?: unknown } } | undefined)?.properties?.description,
      time: r.time,
    }));
}

describe('session-enabled change-request queue, end to end', () => {
  it('applies 20 updates of one backend in send order while another backend proceeds in parallel', async () => {
    runtime.emulator!.injectFault({
      method: 'PATCH',
      path: `/backends/${SLOW}`,
      delayMs: SLOW_PATCH_MS,
      count: Infinity,
    });
    const requestIds: string[] = [];
    for (let n = 0; n < 20; n++) {
      expect(await postUpdate(ORDERED, `ordered-${n}`, `step-${n}`)).toBe(202);
      requestIds.push(`ordered-${n}`);
      if (n < 5) {
        expect(await postUpdate(SLOW, `slow-${n}`, `slow-step-${n}`)).toBe(202);
        requestIds.push(`slow-${n}`);
      }
    }

    const finished = await waitFor('25 result events', () => {
      const mine = events().filter((e) => requestIds.includes(e.data.requestId));
      return mine.length >= requestIds.length ? mine : undefined;
    });

    expect(finished.every((e) => e.data.status === 'succeeded')).toBe(true);
    expect(patches(ORDERED).map((p) => p.description)).toEqual(Array.from({ length: 20 }, (_, n) => `step-${n}`));
    expect(patches(SLOW).map((p) => p.description)).toEqual(Array.from({ length: 5 }, (_, n) => `slow-step-${n}`));
    expect(runtime.emulator!.getBackend(backendIdOf(ORDERED))!.properties['description']).toBe('step-19');
    expect(runtime.emulator!.getBackend(backendIdOf(SLOW))!.properties['description']).toBe('slow-step-4');
    // Parallel: the ordered backend was being changed while a PATCH of the slow one was held by the emulator.
    const slowWindows = patches(SLOW).map((p) => [p.time, p.time + SLOW_PATCH_MS] as const);
    const overlapping = patches(ORDERED).filter((p) => slowWindows.some(([from, to]) => p.time > from && p.time < to));
    expect(overlapping.length).toBeGreaterThan(0);
    // Each message is completed after its handler published the result event.
    await waitFor('the queue drained', () =>
      runtime.broker!.messages('backend-change-requests').length === 0 ? true : undefined,
    );
    runtime.emulator!.clearFaults();
  }, 60_000);

  it('applies a later change of the same backend after its session went idle and was let go', async () => {
    await new Promise((r) => setTimeout(r, 1500));

    expect(await postUpdate(ORDERED, 'ordered-late', 'step-late')).toBe(202);

    const event = await waitFor('the late event', () => events().find((e) => e.data.requestId === 'ordered-late'));
    expect(event.data.status).toBe('succeeded');
    expect(runtime.emulator!.getBackend(backendIdOf(ORDERED))!.properties['description']).toBe('step-late');
  }, 30_000);

  it('stops its session loops promptly', async () => {
    const started = Date.now();
    stopped = true;
    await runtime.stop();
    expect(Date.now() - started).toBeLessThan(6000);
    expect(logs.filter((line) => /session receiver:/.test(line))).toEqual([]);
  }, 15_000);
});
