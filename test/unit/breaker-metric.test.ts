/**
 * The `breaker.events` metric: every circuit-breaker event the use case handles is counted once, by type and by
 * what was decided (the action, a duplicate redelivery, or a retry), read back through the in-memory exporter.
 */
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import { createOtelTelemetry } from '../../shared/adapters/telemetry/otel-telemetry';
import { handleBreakerEvent } from '../../shared/app/breaker-event';
import type { BreakerPorts, BreakerSettings, BreakerStore } from '../../shared/app/breaker-ports';
import { silentLogger } from '../../shared/app/logger-ports';
import type { BreakerEvent } from '../../shared/domain/breaker-event';
import type { BreakerRecord } from '../../shared/domain/breaker-record';

const SERVICE =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1';

function event(id: string, kind: 'opened' | 'closed'): BreakerEvent {
  return {
    id,
    kind,
    type: `Microsoft.ApiManagement.CircuitBreaker.${kind === 'opened' ? 'Opened' : 'Closed'}`,
    schema: 'cloudevents',
    backend: {
      subscriptionId: '00000000-0000-0000-0000-000000000000',
      resourceGroupName: 'rg1',
      serviceName: 'apimService1',
      backendId: 'b1',
    },
    backendId: `${SERVICE}/backends/b1`,
    rule: 'r1',
    eventTime: '2026-11-29T00:00:00Z',
  };
}

/** A store holding records in a Map: enough for events the policy settles without ARM (out of scope). */
function memoryStore(failClaims = false): BreakerStore {
  const records = new Map<string, BreakerRecord>();
  return {
    claim: (data, now) => {
      if (failClaims) return Promise.reject(new Error('storage unavailable'));
      const held = records.get(data.eventId);
      if (held !== undefined) return Promise.resolve({ kind: 'done', record: held });
      const record: BreakerRecord = {
        ...data,
        status: 'processing',
        receivedAt: now.toISOString(),
        published: false,
        version: '1',
      };
      records.set(data.eventId, record);
      return Promise.resolve({ kind: 'claimed', record });
    },
    get: (_backend, id) => Promise.resolve(records.get(id)),
    complete: (record, data, now) => {
      const done: BreakerRecord = { ...record, ...data, status: 'done', processedAt: now.toISOString() };
      records.set(record.eventId, done);
      return Promise.resolve(done);
    },
    release: () => Promise.resolve(),
    markPublished: (record) => {
      records.set(record.eventId, { ...records.get(record.eventId)!, published: true });
      return Promise.resolve();
    },
    events: () => Promise.resolve([...records.values()]),
    poolDrains: () => Promise.resolve([]),
    backendDrains: () => Promise.resolve([]),
    putDrain: () => Promise.resolve(),
    purge: () => Promise.resolve(0),
  };
}

const settings: BreakerSettings = {
  mode: 'drain',
  maxDrains: 3,
  windowMs: 3_600_000,
  // Another service: the policy decides "none, ScopeNotAllowed" without a single ARM call.
  allowedScopes: ['/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/other'],
  deadlineMs: 1_000,
  source: 'urn:test',
};

it('counts each handled event by type and decision: acted on, duplicate, retry', async () => {
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const telemetry = createOtelTelemetry({ metricExporter: metrics, metricIntervalMs: 3_600_000 });
  const ports = (store: BreakerStore): BreakerPorts => ({
    arm: {
      get: () => Promise.reject(new Error('no ARM call expected')),
      list: () => Promise.reject(new Error('no ARM call expected')),
    },
    applyWrite: () => Promise.reject(new Error('no write expected')),
    store,
    publisher: { publish: () => Promise.resolve() },
    clock: { now: () => Date.parse('2026-11-29T00:00:01Z'), sleep: () => Promise.resolve() },
    logger: silentLogger,
    telemetry,
  });
  const store = memoryStore();
  await handleBreakerEvent(event('e1', 'opened'), ports(store), settings);
  await handleBreakerEvent(event('e1', 'opened'), ports(store), settings); // Event Grid redelivers
  await handleBreakerEvent(event('e2', 'closed'), ports(store), settings);
  await expect(handleBreakerEvent(event('e3', 'opened'), ports(memoryStore(true)), settings)).rejects.toThrow();
  await telemetry.flush();

  const points = metrics
    .getMetrics()
    .at(-1)!
    .scopeMetrics.flatMap((scope) => scope.metrics)
    .filter((m) => m.descriptor.name === 'breaker.events')
    .flatMap((m) => m.dataPoints.map((p) => ({ value: p.value, attributes: p.attributes })));
  expect(points).toEqual(
    expect.arrayContaining([
      { value: 1, attributes: { type: 'opened', decision: 'none', mode: 'drain', reason: 'ScopeNotAllowed' } },
      { value: 1, attributes: { type: 'opened', decision: 'duplicate', mode: 'drain' } },
      { value: 1, attributes: { type: 'closed', decision: 'none', mode: 'drain', reason: 'ScopeNotAllowed' } },
      { value: 1, attributes: { type: 'opened', decision: 'retry' } },
    ]),
  );
  expect(points).toHaveLength(4);
  await telemetry.shutdown();
});
