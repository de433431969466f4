/**
 * A span exporter to Application Insights (the ingestion "track" API), with Entra ID authentication.
 *
 * Why not `@azure/monitor-opentelemetry` (the distro) or `@azure/monitor-opentelemetry-exporter`: the distro could
 * not be installed here (npm's dependency resolution hangs on it), and the exporter version installed,
 * 1.0.0-preview.6, is a 2020 build against OpenTelemetry 0.10 (its spans have a different shape) without Entra
 * authentication — `^1.0.0-preview.6` resolves to it because "preview" sorts after every "beta". With a current
 * `@azure/monitor-opentelemetry-exporter` (1.0.0-beta.x), its `AzureMonitorTraceExporter({ connectionString,
 * credential })` can replace this class in otel-sdk.ts.
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { defaultAzureCredential } from '../identity';

/** Where to send: the connection string's ingestion endpoint and instrumentation key (an identifier, not a secret once local auth is off). */
export interface IngestionTarget {
  ingestionEndpoint: string;
  instrumentationKey: string;
}

const MONITOR_SCOPE = 'https://monitor.azure.com//.default';

export function parseConnectionString(connectionString: string): IngestionTarget {
  const parts = new Map(
    connectionString
      .split(';')
      .map((part) => part.split('=', 2).map((s) => s.trim()) as [string, string | undefined])
      .filter(([key, value]) => key !== '' && value !== undefined)
      .map(([key, value]) => [key.toLowerCase(), value!]),
  );
  const instrumentationKey = parts.get('instrumentationkey');
  const ingestionEndpoint = parts.get('ingestionendpoint') ?? 'https://dc.services.visualstudio.com';
  if (instrumentationKey === undefined)
    throw new Error('APPLICATIONINSIGHTS_CONNECTION_STRING has no InstrumentationKey');
  return { ingestionEndpoint: ingestionEndpoint.replace(/\/+$/, ''), instrumentationKey };
}

/**
 * The credential named by APPLICATIONINSIGHTS_AUTHENTICATION_STRING (`Authorization=AAD[;ClientId=<id>]`), or
 * undefined (local auth: the instrumentation key alone, which the template turns off).
 */
export function azureMonitorCredential(authentication: string | undefined): TokenCredential | undefined {
  if (authentication === undefined || !/(^|;)\s*Authorization\s*=\s*AAD\s*(;|$)/i.test(authentication))
    return undefined;
  const clientId = /(?:^|;)\s*ClientId\s*=\s*([^;]+)/i.exec(authentication)?.[1]?.trim();
  return defaultAzureCredential(clientId, MONITOR_SCOPE);
}

/** `d.hh:mm:ss.fff`, Application Insights' duration format. */
function timeSpan(ms: number): string {
  const total = Math.max(0, ms);
  const days = Math.floor(total / 86_400_000);
  const date = new Date(total % 86_400_000);
  return `${days}.${date.toISOString().slice(11, 23)}`;
}

function envelopeOf(span: ReadableSpan, target: IngestionTarget): Record<string, unknown> {
  const context = span.spanContext();
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(span.attributes)) if (value !== undefined) properties[key] = String(value);
  const success = span.status.code !== SpanStatusCode.ERROR;
  const status = span.attributes['http.response.status_code'];
  const duration = timeSpan(hrTimeToMilliseconds(span.duration));
  const isRequest = span.kind === SpanKind.SERVER || span.kind === SpanKind.CONSUMER;
  const baseData = isRequest
    ? {
        ver: 2,
        id: context.spanId,
        name: span.name,
        duration,
        success,
        responseCode: String(status ?? (success ? 0 : 500)),
        properties,
      }
    : {
        ver: 2,
        id: context.spanId,
        name: span.name,
        duration,
        success,
        resultCode: status === undefined ? '' : String(status),
        type: span.kind === SpanKind.CLIENT ? 'HTTP' : span.kind === SpanKind.PRODUCER ? 'Queue Message' : 'InProc',
        properties,
      };
  const tags: Record<string, string> = {
    'ai.operation.id': context.traceId,
    'ai.operation.name': span.name,
    'ai.cloud.role': String(span.resource.attributes['service.name'] ?? 'apim-backend-changes'),
  };
  const parent = span.parentSpanContext?.spanId;
  if (parent !== undefined) tags['ai.operation.parentId'] = parent;
  return {
    name: isRequest ? 'Microsoft.ApplicationInsights.Request' : 'Microsoft.ApplicationInsights.RemoteDependency',
    time: new Date(hrTimeToMilliseconds(span.startTime)).toISOString(),
    iKey: target.instrumentationKey,
    sampleRate: 100,
    tags,
    data: { baseType: isRequest ? 'RequestData' : 'RemoteDependencyData', baseData },
  };
}

/** Sends finished spans to Application Insights as requests (server, consumer) and dependencies (the rest). */
export class AzureMonitorSpanExporter implements SpanExporter {
  constructor(
    private readonly target: IngestionTarget,
    private readonly credential: TokenCredential | undefined,
    private readonly timeoutMs = 10_000,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.send(spans).then(
      (ok) => done({ code: ok ? ExportResultCode.SUCCESS : ExportResultCode.FAILED }),
      (error: unknown) =>
        done(error instanceof Error ? { code: ExportResultCode.FAILED, error } : { code: ExportResultCode.FAILED }),
    );
  }

  private async send(spans: ReadableSpan[]): Promise<boolean> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.credential !== undefined) {
      const token: AccessToken | null = await this.credential.getToken(MONITOR_SCOPE);
      if (token === null) return false;
      headers['authorization'] = `Bearer ${token.token}`;
    }
    const response = await fetch(`${this.target.ingestionEndpoint}/v2.1/track`, {
      method: 'POST',
      headers,
      body: JSON.stringify(spans.map((span) => envelopeOf(span, this.target))),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    return response.ok;
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
