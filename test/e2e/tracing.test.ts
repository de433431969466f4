/**
 * OpenTelemetry through the local runtime (`npm start`'s code): real HTTP, the embedded broker, the ARM emulator
 * over HTTPS and Azurite, with an in-memory exporter. One change submitted with `Prefer: respond-async` is one trace
 * from the HTTP call to the published event; ARM retries are attempt spans; no planted secret reaches telemetry.
 */
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createOtelTelemetry, type OtelTelemetry } from '../../shared/adapters/telemetry/otel-telemetry';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime/runtime';
import { SUB } from '../support/stack';
import { waitFor } from '../support/wait-for';

const SECRET = 'planted-s3cret-Xq7vZ';
const spans = new InMemorySpanExporter();
const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
let telemetry: OtelTelemetry;
let runtime: LocalRuntime;

beforeAll(async () => {
  telemetry = createOtelTelemetry({
    spanExporter: spans,
    exportEachSpan: true,
    metricExporter: metrics,
    metricIntervalMs: 3_600_000,
  });
  runtime = await startLocalRuntime({
    port: 0,
    log: () => undefined,
    telemetry,
    settings: {
      ARM_ENDPOINT: undefined,
      ServiceBusConnection: undefined,
      RECONNECT_SCHEDULE: undefined,
      CHANGE_DEADLINE_SECONDS: '20',
      ARM_ATTEMPT_TIMEOUT_SECONDS: '5',
    },
  });
});
afterAll(async () => {
  await runtime.stop();
  await telemetry.shutdown();
});

const target = (backendId: string) => ({
  subscriptionId: SUB,
  resourceGroupName: 'rg1',
  serviceName: 'apimService1',
  backendId,
});

function body(requestId: string, backendId: string) {
  return {
    requestId,
    operation: 'createOrUpdate',
    target: target(backendId),
    body: {
      properties: {
        url: 'https://backend.example/',
        protocol: 'http',
        credentials: {
          authorization: { scheme: 'Basic', parameter: SECRET },
          header: { 'x-api-key': [SECRET] },
          query: { code: [SECRET] },
        },
      },
    },
  };
}

async function post(payload: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${runtime.url}/api/backend-changes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(payload),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const eventFor = (requestId: string) =>
  waitFor(`event ${requestId}`, () =>
    runtime
      .broker!.messages('backend-change-results/Subscriptions/all')
      .find((m) => (m.body as any).data.requestId === requestId),
  );

const inTrace = (traceId: string) => spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
const byName = (list: ReadableSpan[], name: string) => list.filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

/** The trace as indented lines "name (span id ← parent id)", for the eye and for failure messages. */
function render(list: ReadableSpan[]): string {
  const children = new Map<string | undefined, ReadableSpan[]>();
  const ids = new Set(list.map((s) => s.spanContext().spanId));
  for (const s of [...list].sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])) {
    const parent = ids.has(parentOf(s) ?? '') ? parentOf(s) : undefined;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number): void => {
    for (const s of children.get(parent) ?? []) {
      lines.push(`${'  '.repeat(depth)}${s.name} (${s.spanContext().spanId} ← ${parentOf(s) ?? 'root'})`);
      walk(s.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}

describe('tracing through the local runtime', () => {
  it('Prefer: respond-async yields one trace from the HTTP call through the queue to the published event', async () => {
    const inbound = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await post(body('trace-async-1', 'traced-async'), { prefer: 'respond-async', traceparent: inbound });
    expect(res.status).toBe(202);

    const message = await eventFor('trace-async-1');
    const event = message.body as any;
    expect(event.data.status).toBe('succeeded');
    // The CloudEvents distributed-tracing extension, and Diagnostic-Id as the Service Bus SDK sets it.
    expect(event.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(message.applicationProperties?.['Diagnostic-Id']).toBe(event.traceparent);

    const trace = await waitFor('the publish span', () => {
      const list = inTrace(traceId);
      return byName(list, 'publish result').length > 0 && byName(list, 'processBackendChange').length > 0
        ? list
        : undefined;
    });
    const shown = render(trace);
    const [http] = byName(trace, 'backendChanges');
    const [enqueue] = byName(trace, 'enqueue change requests');
    const [consumer] = byName(trace, 'processBackendChange');
    const [change] = byName(trace, 'change');
    const [publish] = byName(trace, 'publish result');
    expect({ shown, http: parentOf(http!) }).toEqual({ shown, http: '00f067aa0ba902b7' });
    expect(parentOf(enqueue!)).toBe(http!.spanContext().spanId);
    expect(parentOf(consumer!)).toBe(enqueue!.spanContext().spanId);
    expect(parentOf(change!)).toBe(consumer!.spanContext().spanId);
    expect(parentOf(publish!)).toBe(change!.spanContext().spanId);
    expect(event.traceparent).toBe(`00-${traceId}-${publish!.spanContext().spanId}-01`);
    const arm = trace.filter((s) => s.name.startsWith('ARM '));
    expect(arm.length).toBeGreaterThan(0);
    for (const s of arm) expect(parentOf(s)).toBe(change!.spanContext().spanId);
    expect(trace.some((s) => s.name === 'ledger.claim' && parentOf(s) === change!.spanContext().spanId)).toBe(true);
    expect(change!.attributes).toMatchObject({
      'change.requestId': 'trace-async-1',
      'change.operation': 'createOrUpdate',
      'change.status': 'succeeded',
      'change.unchanged': false,
      'change.attempts': 1,
    });
    expect(String(change!.attributes['change.target'])).toMatch(/\/backends\/traced-async$/);
    expect(http!.attributes['http.response.status_code']).toBe(202);
    console.log(`Trace of an async change (span id ← parent id):\n${shown}`);
  });

  it('ARM retries show as attempt spans with their status, retry reason and wait; 429s are counted', async () => {
    runtime.emulator!.injectFault({
      method: 'PUT',
      path: '/backends/traced-retry',
      status: 429,
      retryAfter: '1',
      count: 2,
    });
    const inbound = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await post(body('trace-retry-1', 'traced-retry'), { traceparent: inbound });
    expect(res.status).toBe(201);
    await telemetry.flush();
    const trace = inTrace('0af7651916cd43dd8448eb211c80319c');
    const puts = byName(trace, 'ARM PUT').sort(
      (a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1],
    );
    expect(puts.map((s) => s.attributes['http.response.status_code'])).toEqual([429, 429, 201]);
    expect(puts.map((s) => s.attributes['arm.retry.reason'])).toEqual(['Throttled', 'Throttled', undefined]);
    for (const s of puts.slice(0, 2)) expect(Number(s.attributes['arm.retry.wait_ms'])).toBeGreaterThanOrEqual(1000);
    expect(puts[2]!.attributes['arm.request_id']).toEqual(expect.any(String));
    const [change] = byName(trace, 'change');
    expect(change!.attributes['change.attempts']).toBe(3);
    for (const s of puts) expect(parentOf(s)).toBe(change!.spanContext().spanId);

    const exported = metrics
      .getMetrics()
      .at(-1)!
      .scopeMetrics.flatMap((scope) => scope.metrics);
    const sum = (name: string) =>
      exported
        .filter((m) => m.descriptor.name === name)
        .flatMap((m) => m.dataPoints as Array<{ value: unknown }>)
        .reduce(
          (total, point) =>
            total + (typeof point.value === 'number' ? point.value : (point.value as { count: number }).count),
          0,
        );
    expect(sum('arm.throttled')).toBeGreaterThanOrEqual(2);
    expect(sum('arm.retry_wait')).toBeGreaterThanOrEqual(2);
    expect(sum('changes')).toBeGreaterThanOrEqual(2);
    expect(sum('arm.attempts')).toBeGreaterThanOrEqual(4);
    expect(sum('change.duration')).toBeGreaterThanOrEqual(2);
  });

  it('change-set and circuit-breaker events carry the trace of the call that published them', async () => {
    const service = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1`;
    const setTrace = '1bf92f3577b34da6a3ce929d0e0e4736';
    const single = (name: string) => ({
      operation: 'createOrUpdate',
      target: `${service}/backends/${name}`,
      body: { properties: { url: `https://${name}.example/`, protocol: 'http' } },
    });
    const set = await post(
      { requestId: 'trace-set-1', changes: [single('traced-set-a'), single('traced-set-b')] },
      { traceparent: `00-${setTrace}-00f067aa0ba902b7-01` },
    );
    expect(set.status).toBe(200);
    const setMessage = await waitFor('the change-set event', () =>
      runtime
        .broker!.messages('backend-change-results/Subscriptions/all')
        .find(
          (m) =>
            String((m.body as any).type).includes('change-set') && (m.body as any).data.requestId === 'trace-set-1',
        ),
    );
    const setEvent = setMessage.body as any;
    expect(setEvent.traceparent).toMatch(new RegExp(`^00-${setTrace}-[0-9a-f]{16}-01$`));
    expect(setMessage.applicationProperties?.['Diagnostic-Id']).toBe(setEvent.traceparent);

    const breakerTrace = '2bf92f3577b34da6a3ce929d0e0e4736';
    const delivered = await fetch(`${runtime.url}/runtime/webhooks/eventgrid?functionName=circuitBreakerEvents`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', 'aeg-event-type': 'Notification' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'trace-breaker-1',
        source: service,
        subject: '/backends/traced-breaker/circuit-breaker/rules/r1',
        type: 'Microsoft.ApiManagement.CircuitBreaker.Opened',
        time: '2026-11-29T00:00:00Z',
        traceparent: `00-${breakerTrace}-00f067aa0ba902b7-01`,
        data: { backendName: 'traced-breaker', circuitBreaker: { rules: { r1: { tripDuration: '00:00:01' } } } },
      }),
    });
    expect(delivered.status).toBeLessThan(300);
    const breakerMessage = await waitFor('the circuit-breaker event', () =>
      runtime
        .broker!.messages('backend-change-results/Subscriptions/all')
        .find(
          (m) =>
            String((m.body as any).type).includes('circuit-breaker') &&
            (m.body as any).data.eventId === 'trace-breaker-1',
        ),
    );
    const breakerEvent = breakerMessage.body as any;
    expect(breakerEvent.traceparent).toMatch(new RegExp(`^00-${breakerTrace}-[0-9a-f]{16}-01$`));
    expect(breakerMessage.applicationProperties?.['Diagnostic-Id']).toBe(breakerEvent.traceparent);
    await telemetry.flush();
    const [publishSpan] = byName(inTrace(breakerTrace), 'publish breaker event');
    expect(breakerEvent.traceparent).toBe(`00-${breakerTrace}-${publishSpan!.spanContext().spanId}-01`);
  });

  it('no span or metric attribute holds the planted secret, in any encoding', async () => {
    await telemetry.flush();
    const everything = JSON.stringify({
      spans: spans
        .getFinishedSpans()
        .map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
      metrics: metrics.getMetrics().map((m) => m.scopeMetrics.map((scope) => scope.metrics.map((x) => x.dataPoints))),
    });
    expect(spans.getFinishedSpans().length).toBeGreaterThan(10);
    for (const encoding of [
      SECRET,
      Buffer.from(SECRET).toString('base64'),
      encodeURIComponent(SECRET),
      Buffer.from(SECRET).toString('hex'),
    ]) {
      expect(everything).not.toContain(encoding);
    }
  });
});
