import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';

/**
 * OTLP/HTTP JSON metric exporter: what `@opentelemetry/exporter-metrics-otlp-http` does, in a few lines, because
 * that package is not installed here (the trace exporter is). Each export is one bounded POST.
 */
export class OtlpJsonMetricExporter implements PushMetricExporter {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    const body = JsonMetricsSerializer.serializeRequest(metrics);
    if (body === undefined) {
      done({ code: ExportResultCode.FAILED });
      return;
    }
    fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    }).then(
      (response) => done({ code: response.ok ? ExportResultCode.SUCCESS : ExportResultCode.FAILED }),
      (error: unknown) =>
        done(error instanceof Error ? { code: ExportResultCode.FAILED, error } : { code: ExportResultCode.FAILED }),
    );
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
