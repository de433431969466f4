/**
 * The circuit-breaker row of the fault table: API Management's Opened events, each delivered twice and concurrently
 * (once to the Event Grid trigger's endpoint, once to the webhook, as two subscriptions or a retry would), while ARM
 * throttles the pool writes. Deliveries that are refused for now (503/500) are retried as Event Grid would.
 */
import type { LocalRuntime } from '../../local/runtime/runtime';
import { SERVICE_ID } from '../support/stack';

const EVENTS = 'backend-change-results/Subscriptions/all';
const RETRIES = 20;

export async function breakerScenario(runtime: LocalRuntime, count: number) {
  const emulator = runtime.emulator!;
  const tag = `bk${Date.now().toString(36)}`;
  const id = (name: string): string => `${SERVICE_ID}/backends/${name}`;
  const cases = Array.from({ length: count }, (_, i) => {
    const members = [1, 2, 3].map((m) => `${tag}-${i}-m${m}`);
    for (const m of members) emulator.putBackend(id(m), { url: `https://${m}.example/`, protocol: 'http' });
    const pool = `${tag}-${i}-pool`;
    emulator.putBackend(id(pool), {
      type: 'Pool',
      pool: { services: members.map((m) => ({ id: id(m), priority: 1, weight: 1 })) },
    });
    const event = {
      id: `${tag}-event-${i}`,
      topic: SERVICE_ID,
      subject: `/backends/${members[0]}/circuit-breaker/rules/breakThrottling`,
      data: { backendName: members[0], circuitBreaker: { rules: { breakThrottling: { tripDuration: '00:00:30' } } } },
      eventType: 'Microsoft.ApiManagement.CircuitBreaker.Opened',
      dataVersion: '1',
      metadataVersion: '1',
      eventTime: new Date().toISOString(),
    };
    return { pool, member: members[0]!, event };
  });
  emulator.injectFault({
    method: 'PATCH',
    path: new RegExp(`/backends/${tag}-`),
    status: 429,
    retryAfter: '1',
    count: count * 2,
  });

  const deliver = async (url: string, body: unknown): Promise<void> => {
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      await res.arrayBuffer();
      if (res.status < 300) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`delivery to ${url} kept failing`);
  };
  await Promise.all(
    cases.flatMap((c) => [
      deliver(`${runtime.url}/runtime/webhooks/eventgrid?functionName=circuitBreakerEvents`, [c.event]),
      deliver(`${runtime.url}/api/circuit-breaker-events`, [c.event]),
    ]),
  );
  emulator.clearFaults();
  const throttled = emulator.requests.filter((r) => r.status === 429 && r.path.includes(`/backends/${tag}-`)).length;
  if (throttled === 0) throw new Error('ARM was meant to throttle the pool writes');

  const published = runtime.broker!.messages(EVENTS).map((m) => m.body as any);
  let lost = 0;
  let duplicatedWrites = 0;
  let armWrites = 0;
  let succeeded = 0;
  let outcomesOut = 0;
  for (const c of cases) {
    const writes = emulator.requests.filter(
      (r) => r.method === 'PATCH' && r.path.endsWith(`/backends/${c.pool}`) && r.status >= 200 && r.status < 300,
    ).length;
    armWrites += writes;
    duplicatedWrites += Math.max(0, writes - 1);
    const breakerEvents = published.filter((e) => e.data?.eventId === c.event.id);
    outcomesOut += Math.min(breakerEvents.length, 1);
    const member = (emulator.getBackend(id(c.pool))!.properties as any).pool.services.find(
      (m: any) => m.id === id(c.member),
    );
    const drained = member?.priority === 2 && breakerEvents[0]?.data.action.taken === 'drain';
    if (drained) succeeded++;
    else lost++;
  }
  return {
    scenario: 'breaker-events-twice-concurrently-while-throttled',
    requestsIn: count * 2,
    outcomesOut,
    succeeded,
    failed: 0,
    armWrites,
    lost,
    duplicatedWrites,
  };
}
