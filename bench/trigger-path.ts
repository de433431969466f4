/**
 * Row 2b's measurement, run in the bundled child (cpu-child.ts): the HTTP function's handler (body bytes
 * read, JSON parse, validation, the ledger's fingerprint and claim, `applyChange`, the ledger's completion, the
 * result event built, the log line and the answer), with credentials in every body, timed with `process.cpuUsage()`
 * without any I/O: ARM is a canned client, the ledger an in-memory map, the publisher builds the Service Bus message
 * and drops it.
 */
import { noTelemetry } from '../shared/app/telemetry-ports';
import type { HttpRequest, InvocationContext } from '@azure/functions';
import { cpuUsage } from 'node:process';
import { backendChangesHandler } from '../functions/backend-changes';
import { createBreakerAdapters } from '../functions/circuit-breaker-adapters';
import { processDeps, withChangeService, type AppServices } from '../functions/composition-root';
import { LazyServiceBusClient } from '../shared/adapters/service-bus/service-bus-client';
import { loadConfig } from '../shared/config/settings';
import { silentLogger } from '../shared/app/logger-ports';
import type { Outcome } from '../shared/domain/contract/outcome';
import { toResultMessage } from '../shared/adapters/service-bus/result-publisher';
import { createFingerprinter } from '../shared/domain/fingerprint';
import type { ChangeLedger, ClaimInput, LedgerRecord } from '../shared/app/ledger-ports';
import { cannedArmClient } from './canned-arm-client';
import { median, round } from './stats';
import { rawCreateOrUpdate } from './workload';
import { systemClock } from '../shared/adapters/system-clock';
import type { TriggerCpuOptions, TriggerCpuResult } from './trigger-cpu';

/** A bench fingerprint key (production sets LEDGER_FINGERPRINT_KEY from Key Vault). */
const BENCH_KEY = 'bench-fingerprint-key-0123456789abcdef';

/**
 * A ledger in a Map: the claim/complete/markPublished protocol of the table ledger, without storage. A published
 * record is dropped (the bench never repeats a requestId): the table keeps records in storage, not in the process,
 * and a map growing by thousands of outcomes would charge the row for garbage collection the app never does.
 */
function memoryLedger(): ChangeLedger {
  const records = new Map<string, LedgerRecord>();
  let version = 0;
  const save = (record: LedgerRecord): LedgerRecord => {
    record.version = String(++version);
    records.set(record.requestId, record);
    return record;
  };
  return {
    claim(input: ClaimInput) {
      const known = records.get(input.requestId);
      if (known === undefined) {
        const now = input.now.toISOString();
        const record: LedgerRecord = {
          requestId: input.requestId,
          fingerprint: input.fingerprint,
          state: 'applying',
          attempts: 0,
          deliveries: 1,
          published: false,
          createdAt: now,
          updatedAt: now,
          leaseUntil: new Date(input.now.getTime() + input.leaseMs).toISOString(),
          version: '',
        };
        if (input.operation !== undefined) record.operation = input.operation;
        if (input.target !== undefined) record.target = input.target;
        return Promise.resolve({ kind: 'claimed', record: save(record) });
      }
      if (known.fingerprint !== input.fingerprint && input.sameRequest?.(known.fingerprint) !== true)
        return Promise.resolve({ kind: 'conflict', record: known });
      return Promise.resolve({ kind: 'done', record: known });
    },
    complete(record: LedgerRecord, outcome: Outcome, extra: { etagBefore?: string; now: Date }) {
      // A new record without the lease (no `delete`: it would turn the object into a slow dictionary).
      const next: LedgerRecord = {
        requestId: record.requestId,
        fingerprint: record.fingerprint,
        state: outcome.status,
        outcome,
        attempts: record.attempts + outcome.attempts,
        deliveries: record.deliveries,
        published: false,
        createdAt: record.createdAt,
        updatedAt: extra.now.toISOString(),
        version: '',
      };
      if (record.operation !== undefined) next.operation = record.operation;
      if (record.target !== undefined) next.target = record.target;
      if (extra.etagBefore !== undefined) next.etagBefore = extra.etagBefore;
      return Promise.resolve(save(next));
    },
    markPublished(record: LedgerRecord) {
      records.delete(record.requestId);
      record.published = true;
      return Promise.resolve(record);
    },
    release: (record) => Promise.resolve(record),
    register: () => Promise.reject(new Error('The trigger-path bench never accepts asynchronously.')),
    recordIntent(record, intent) {
      // In place (the caller replaces its record with the one returned): `{ ...record, intent }` takes V8's slow
      // spread-then-add path, ~1.5 µs a request charged to a stand-in for storage I/O.
      record.intent = intent;
      return Promise.resolve(save(record));
    },
    close: (record, outcome) => Promise.resolve(save({ ...record, state: outcome.status, outcome })),
    stalled: () => Promise.resolve([]),
    unpublished: () => Promise.resolve([]),
    get: (requestId) => Promise.resolve(records.get(requestId)),
    purge: () => Promise.resolve(0),
  };
}

function benchServices(withKey: boolean): AppServices {
  const config = loadConfig({ LEDGER_FINGERPRINT_KEY: withKey ? BENCH_KEY : undefined, SKIP_UNCHANGED: 'false' });
  const sent: unknown[] = [];
  return withChangeService({
    config,
    arm: cannedArmClient(),
    publisher: {
      publish(outcome, options) {
        // Built as the real publisher builds it; only the last is kept (nothing is sent).
        sent[0] = toResultMessage(outcome, config.eventSource, new Date(), options?.correlationId);
        return Promise.resolve();
      },
      publishChangeSet: () => Promise.resolve(),
    },
    queue: { enqueue: () => Promise.resolve() },
    clock: systemClock,
    telemetry: noTelemetry,
    ledger: memoryLedger(),
    fingerprints: createFingerprinter(config.ledger.fingerprintKeys),
    // Not used on this path; a lazy client that never connects.
    breaker: createBreakerAdapters(
      config,
      new LazyServiceBusClient({ connectionString: undefined, fullyQualifiedNamespace: undefined }),
    ),
    close: () => Promise.resolve(),
  });
}

/** A stand-in for the host's HttpRequest: what the handler reads (headers, the body as text). */
function httpRequest(body: Uint8Array): HttpRequest {
  const headers = new Map([
    ['content-type', 'application/json'],
    ['content-length', String(body.byteLength)],
  ]);
  return {
    method: 'POST',
    url: 'http://localhost:7071/api/backend-changes',
    headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null },
    // The host hands over the bytes it received; encoding the text per call would charge the row for work the
    // production path never does, so the bodies are encoded before the timed loop.
    arrayBuffer: () => Promise.resolve(body.buffer),
  } as unknown as HttpRequest;
}

const quiet = (): void => undefined;
const context = { invocationId: 'bench', log: quiet, warn: quiet, error: quiet } as unknown as InvocationContext;

/**
 * Sends `requests` createOrUpdate requests (unique requestIds, credentials and a proxy password in every body)
 * through the HTTP handler per round, after `warmUpRounds` warm-up rounds, and returns the CPU µs per request.
 * Three warm-up rounds by default: after one, V8 was still optimising (22 functions compiled during the first
 * measured round, whose main-thread CPU was 30 % above the later rounds'), which a long-running process pays once.
 * No collection is forced between rounds: after a full GC, V8 sets the old generation's limit from the small live
 * heap and marks concurrently during the next rounds (three to seven times the other threads' CPU of a round).
 */
export async function measureTriggerCpuHere(options: TriggerCpuOptions): Promise<TriggerCpuResult> {
  const services = benchServices(options.withoutFingerprintKey !== true);
  // The deps the handler builds per invocation, checked once here so a wiring mistake fails loudly.
  if (processDeps(services, silentLogger).fingerprints === undefined) throw new Error('no fingerprints');
  const handler = backendChangesHandler(() => services);
  const totalUs: number[] = [];
  for (let r = -(options.warmUpRounds ?? 3); r < options.rounds; r++) {
    const bodies = Array.from({ length: options.requests }, (_, i) =>
      new TextEncoder().encode(JSON.stringify(rawCreateOrUpdate(i, `trigger-${r}`, `trigger-${r}-${i}`))),
    );
    const before = cpuUsage();
    for (let i = 0; i < bodies.length; i++) {
      const response = await handler(httpRequest(bodies[i]!), context);
      if (response.status !== 201 && response.status !== 200) {
        throw new Error(`trigger path answered ${response.status}: ${JSON.stringify(response.jsonBody)}`);
      }
    }
    const used = cpuUsage(before);
    if (r >= 0) totalUs.push(round((used.user + used.system) / options.requests, 1));
  }
  return { options, totalUs, median: round(median(totalUs), 1) };
}
