/**
 * OTEL_BSP_MAX_EXPORT_BATCH_SIZE: how many ended spans wait before a batch is exported. 64 by default here (the SDK's
 * is 512), so spans leave memory while young (see DEFAULT_SPAN_BATCH_SIZE in otel-telemetry.ts); a full batch goes
 * to the exporter at once, without the SDK's 5 s delay.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createOtelTelemetry, DEFAULT_SPAN_BATCH_SIZE } from '../../shared/adapters/telemetry/otel-telemetry';
import { loadConfig } from '../../shared/config/settings';

/** Records the size of every batch it is handed. */
class BatchSizes implements SpanExporter {
  readonly sizes: number[] = [];
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.sizes.push(spans.length);
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown = (): Promise<void> => Promise.resolve();
  forceFlush = (): Promise<void> => Promise.resolve();
}

async function endSpans(count: number, spanBatchSize?: number) {
  const exporter = new BatchSizes();
  const telemetry = createOtelTelemetry({ spanExporter: exporter, spanBatchSize });
  for (let i = 0; i < count; i++) await telemetry.inSpan(`span ${i}`, {}, () => Promise.resolve());
  await new Promise((resolve) => setImmediate(resolve)); // the processor's export job runs
  const beforeShutdown = [...exporter.sizes];
  await telemetry.shutdown();
  return { beforeShutdown, all: exporter.sizes };
}

describe('span batches', () => {
  it('are read from OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 64 by default; a bad value names the setting', () => {
    expect(loadConfig({}).telemetry.spanBatchSize).toBe(64);
    expect(DEFAULT_SPAN_BATCH_SIZE).toBe(64);
    expect(loadConfig({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '512' }).telemetry.spanBatchSize).toBe(512);
    for (const bad of ['0', '-1', 'many', '4096'])
      expect(() => loadConfig({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: bad })).toThrow(/OTEL_BSP_MAX_EXPORT_BATCH_SIZE/);
  });

  it('go to the exporter as soon as one is full, without waiting for the delay; the rest at shutdown', async () => {
    const { beforeShutdown, all } = await endSpans(DEFAULT_SPAN_BATCH_SIZE * 2 + 5);
    expect(beforeShutdown).toEqual([DEFAULT_SPAN_BATCH_SIZE, DEFAULT_SPAN_BATCH_SIZE]);
    expect(all).toEqual([DEFAULT_SPAN_BATCH_SIZE, DEFAULT_SPAN_BATCH_SIZE, 5]);
  });

  it('follow the configured size', async () => {
    const { beforeShutdown } = await endSpans(25, 10);
    expect(beforeShutdown).toEqual([10, 10]);
  });
});
