import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { FunctionRegistration } from '../../functions/registrations';
import { withTelemetry } from '../../functions/telemetry';
import { carrierFrom, noTelemetry } from '../../shared/app/telemetry-ports';
import {
  AzureMonitorSpanExporter,
  azureMonitorCredential,
  parseConnectionString,
} from '../../shared/adapters/telemetry/azure-monitor-exporter';
import { createOtelTelemetry } from '../../shared/adapters/telemetry/otel-telemetry';
import { createTelemetry, exportPlan } from '../../functions/select-telemetry';

const off = {
  appInsightsConnectionString: undefined,
  appInsightsAuthentication: undefined,
  otlpEndpoint: undefined,
  tracesExporter: undefined,
  sampler: { name: 'parentbased_always_on' as const, ratio: 1 },
  spanBatchSize: 64,
};
const CONNECTION =
  'InstrumentationKey=11111111-2222-3333-4444-555555555555;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/';

describe('choosing the exporter', () => {
  it('is off (no SDK, no-op spans) unless an exporter is configured', () => {
    expect(exportPlan(off)).toBeUndefined();
    expect(createTelemetry(off)).toBe(noTelemetry);
  });

  it('prefers Azure Monitor, then OTLP, then console spans', () => {
    const all = {
      appInsightsConnectionString: CONNECTION,
      appInsightsAuthentication: 'Authorization=AAD',
      otlpEndpoint: 'http://localhost:4318',
      tracesExporter: 'console',
      sampler: off.sampler,
      spanBatchSize: off.spanBatchSize,
    };
    expect(exportPlan(all)).toEqual({
      kind: 'azureMonitor',
      connectionString: CONNECTION,
      authentication: 'Authorization=AAD',
    });
    expect(exportPlan({ ...all, appInsightsConnectionString: undefined })).toEqual({
      kind: 'otlp',
      endpoint: 'http://localhost:4318',
    });
    expect(exportPlan({ ...off, tracesExporter: 'Console' })).toEqual({ kind: 'console' });
  });
});

describe('trace context from untrusted input', () => {
  it('accepts a W3C traceparent and refuses anything else', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(carrierFrom(tp, 'congo=t61rcWkgMzE')).toEqual({ traceparent: tp, tracestate: 'congo=t61rcWkgMzE' });
    for (const bad of [
      undefined,
      42,
      '',
      'garbage',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      `${tp}; drop table`,
    ]) {
      expect(carrierFrom(bad)).toBeUndefined();
    }
  });

  it('continues a remote parent and puts the bound span on outgoing carriers', async () => {
    const spans = new InMemorySpanExporter();
    const telemetry = createOtelTelemetry({ spanExporter: spans, exportEachSpan: true });
    const parent = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
    const carried = await telemetry.inSpan('outer', { parent }, (outer) =>
      outer.telemetry.inSpan('inner', {}, async (inner) => inner.telemetry.carrier()),
    );
    const [inner, outer] = spans.getFinishedSpans();
    expect(outer!.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(inner!.parentSpanContext?.spanId).toBe(outer!.spanContext().spanId);
    expect(carried?.traceparent).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${inner!.spanContext().spanId}-01`);
  });

  it('records an error by its type only: a message may quote input', async () => {
    const spans = new InMemorySpanExporter();
    const telemetry = createOtelTelemetry({ spanExporter: spans, exportEachSpan: true });
    await expect(telemetry.inSpan('boom', {}, () => Promise.reject(new TypeError('token=s3cr3t')))).rejects.toThrow();
    const [span] = spans.getFinishedSpans();
    expect(span!.status).toEqual({ code: 2, message: 'TypeError' });
    expect(JSON.stringify([span!.attributes, span!.events, span!.status])).not.toContain('s3cr3t');
  });
});

describe('Azure Monitor exporter (Application Insights ingestion, Entra auth)', () => {
  it('reads the ingestion endpoint and key from the connection string, and the identity from the authentication string', () => {
    expect(parseConnectionString(CONNECTION)).toEqual({
      ingestionEndpoint: 'https://westeurope-5.in.applicationinsights.azure.com',
      instrumentationKey: '11111111-2222-3333-4444-555555555555',
    });
    expect(() => parseConnectionString('IngestionEndpoint=https://x/')).toThrow(/InstrumentationKey/);
    expect(azureMonitorCredential(undefined)).toBeUndefined();
    expect(azureMonitorCredential('Authorization=AAD;ClientId=abc')).toBeDefined();
  });

  it('posts spans as requests and dependencies with a bearer token to /v2.1/track', async () => {
    const received: Array<{ url: string | undefined; auth: string | undefined; body: any }> = [];
    const server = createServer((req: IncomingMessage, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        received.push({ url: req.url, auth: req.headers.authorization, body: JSON.parse(text) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"itemsReceived":2,"itemsAccepted":2}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const credential = {
        getToken: () => Promise.resolve({ token: 'entra-token', expiresOnTimestamp: Date.now() + 60_000 }),
      };
      const exporter = new AzureMonitorSpanExporter(
        { ingestionEndpoint: `http://127.0.0.1:${port}`, instrumentationKey: 'ikey' },
        credential,
      );
      const telemetry = createOtelTelemetry({ spanExporter: exporter, exportEachSpan: true });
      await telemetry.inSpan('backendChanges', { kind: 'server' }, async (span) => {
        const attempt = span.telemetry.startSpan('ARM PUT', {
          kind: 'client',
          attributes: { 'http.response.status_code': 201 },
        });
        attempt.end();
      });
      await telemetry.flush();
      const envelopes = received.flatMap((r) => r.body as any[]);
      expect(received.every((r) => r.url === '/v2.1/track' && r.auth === 'Bearer entra-token')).toBe(true);
      const request = envelopes.find((e) => e.name === 'Microsoft.ApplicationInsights.Request');
      const dependency = envelopes.find((e) => e.name === 'Microsoft.ApplicationInsights.RemoteDependency');
      expect(request.data.baseData).toMatchObject({ name: 'backendChanges', success: true });
      expect(dependency.data.baseData).toMatchObject({ name: 'ARM PUT', type: 'HTTP', resultCode: '201' });
      expect(dependency.tags['ai.operation.id']).toBe(request.tags['ai.operation.id']);
      expect(dependency.tags['ai.operation.parentId']).toBe(request.data.baseData.id);
      expect(request.data.baseData.duration).toMatch(/^\d+\.\d\d:\d\d:\d\d\.\d{3}$/);
      await telemetry.shutdown();
    } finally {
      server.close();
    }
  });
});

describe('trigger spans', () => {
  it('an Event Grid invocation continues the event traceparent and names the event type', async () => {
    const spans = new InMemorySpanExporter();
    const telemetry = createOtelTelemetry({ spanExporter: spans, exportEachSpan: true });
    const registration: FunctionRegistration = {
      name: 'circuitBreakerEvents',
      kind: 'eventGrid',
      handler: () => Promise.resolve(),
    };
    const fn = withTelemetry(registration, () => telemetry);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await fn.handler(
      { type: 'Microsoft.ApiManagement.CircuitBreaker.Opened', traceparent, data: {} },
      new InvocationContext({ functionName: 'circuitBreakerEvents' }),
    );
    const [span] = spans.getFinishedSpans();
    expect(span!.name).toBe('circuitBreakerEvents');
    expect(span!.kind).toBe(SpanKind.CONSUMER);
    expect(span!.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(span!.attributes['cloudevents.event_type']).toBe('Microsoft.ApiManagement.CircuitBreaker.Opened');
    // breaker.events is counted by the use case, which knows the decision (test/unit/breaker-metric.test.ts).
    await telemetry.shutdown();
  });

  it('trigger attributes hold no input as sent: route template, derived message id, well-formed event type', async () => {
    const secret = 'user:planted-s3cret@x';
    const spans = new InMemorySpanExporter();
    const telemetry = createOtelTelemetry({ spanExporter: spans, exportEachSpan: true });
    type Handler = (input: unknown, context: InvocationContext) => Promise<unknown>;
    const invoke = (fn: FunctionRegistration, input: unknown, context: InvocationContext) =>
      (withTelemetry(fn, () => telemetry).handler as Handler)(input, context);
    await invoke(
      {
        name: 'backendChangeStatus',
        kind: 'http',
        trigger: { methods: ['GET'], route: 'backend-changes/{requestId}', authLevel: 'function' },
        handler: () => Promise.resolve({ status: 404 }),
      },
      new HttpRequest({ method: 'GET', url: `http://localhost/api/backend-changes/${encodeURIComponent(secret)}` }),
      new InvocationContext({ functionName: 'backendChangeStatus' }),
    );
    const queue: FunctionRegistration = {
      name: 'processBackendChange',
      kind: 'serviceBusQueue',
      trigger: { queueName: 'q', connection: 'c', isSessionsEnabled: false },
      handler: () => Promise.resolve(),
    };
    await invoke(queue, {}, new InvocationContext({ functionName: 'q', triggerMetadata: { messageId: secret } }));
    await invoke(queue, {}, new InvocationContext({ functionName: 'q', triggerMetadata: { messageId: 'req-1' } }));
    await invoke(
      { name: 'circuitBreakerEvents', kind: 'eventGrid', handler: () => Promise.resolve() },
      { type: secret, data: {} },
      new InvocationContext({ functionName: 'circuitBreakerEvents' }),
    );

    const [get, fromSecret, fromId, event] = spans.getFinishedSpans();
    expect(get!.attributes).toEqual({
      'http.request.method': 'GET',
      'http.route': 'backend-changes/{requestId}',
      'http.response.status_code': 404,
    });
    expect(fromSecret!.attributes['messaging.message.id']).toMatch(/^msg-[0-9a-f]{40}$/);
    expect(fromId!.attributes['messaging.message.id']).toBe('req-1');
    expect(event!.attributes['cloudevents.event_type']).toBeUndefined();
    const everything = JSON.stringify(spans.getFinishedSpans().map((s) => s.attributes));
    for (const form of [secret, encodeURIComponent(secret), 'planted-s3cret']) expect(everything).not.toContain(form);
    await telemetry.shutdown();
  });

  it("an HTTP answer of 5xx marks its span failed; a 4xx does not (the caller's mistake, not ours)", async () => {
    const spans = new InMemorySpanExporter();
    const telemetry = createOtelTelemetry({ spanExporter: spans, exportEachSpan: true });
    for (const status of [503, 400]) {
      const registration: FunctionRegistration = {
        name: 'backendChanges',
        kind: 'http',
        trigger: { methods: ['POST'], route: 'backend-changes', authLevel: 'function' },
        handler: () => Promise.resolve({ status }),
      };
      const handler = withTelemetry(registration, () => telemetry).handler as (
        input: unknown,
        context: InvocationContext,
      ) => Promise<unknown>;
      const answer = await handler(
        new HttpRequest({ method: 'POST', url: 'http://localhost/api/backend-changes' }),
        new InvocationContext({ functionName: 'backendChanges' }),
      );
      expect(answer).toEqual({ status });
    }
    const [failed, refused] = spans.getFinishedSpans();
    expect(failed!.attributes['http.response.status_code']).toBe(503);
    expect(failed!.status).toEqual({ code: 2, message: 'HTTP 503' });
    expect(refused!.attributes['http.response.status_code']).toBe(400);
    expect(refused!.status).toEqual({ code: 0 });
    await telemetry.shutdown();
  });

  it('with telemetry off the handler runs as it is', async () => {
    const handler = jest.fn(() => Promise.resolve());
    const registration: FunctionRegistration = { name: 'x', kind: 'eventGrid', handler };
    const fn = withTelemetry(registration, () => noTelemetry);
    await fn.handler({}, new InvocationContext({ functionName: 'x' }));
    expect(handler).toHaveBeenCalledTimes(1);
  });
});
