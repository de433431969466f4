/**
 * The ports with spans around them: ledger operations, publishing, enqueueing and ARM sends become child spans of the
 * span their telemetry is bound to, and the messages they send carry the trace on. The composition root binds them
 * per span that does work (an invocation's, a change's): each binding is one small object per port.
 */
import type { ChangeLedger } from '../shared/app/ledger-ports';
import type { ChangeSpanPorts } from '../shared/app/process-change';
import type { ChangeQueue, QueuedChange } from '../shared/app/queue-ports';
import type { SpanHandle, Telemetry, TraceCarrier } from '../shared/app/telemetry-ports';
import type { ArmAttemptHandle, ArmBackendClient, ArmObserver, CallOptions } from '../shared/app/arm-ports';
import type { BackendScope, BackendTarget } from '../shared/domain/backend-id';
import { attemptSpan, recordLimiterWait } from './telemetry';
import type { PublishOptions, ResultPublisher } from '../shared/app/publisher-ports';
import type { Outcome } from '../shared/domain/contract/outcome';
import type { SetOutcome } from '../shared/domain/contract/change-set';
import type { BreakerPublisher } from '../shared/app/breaker-ports';
import { withTrace } from '../shared/domain/cloud-event';

/** Every method of the ledger port (the compiler checks the list is complete). */
const LEDGER_METHODS = {
  claim: true,
  register: true,
  complete: true,
  recordIntent: true,
  close: true,
  stalled: true,
  release: true,
  markPublished: true,
  unpublished: true,
  get: true,
  purge: true,
} satisfies Record<keyof ChangeLedger, true>;

/**
 * Every ledger call in a `ledger.<method>` span (with the requestId when the call names one). The ledger is bound
 * to a telemetry per invocation and per change, so the wrapping methods are made once, on the prototype, rather
 * than as closures per binding (or by a Proxy on every call).
 */
function tracedLedger(ledger: ChangeLedger, telemetry: Telemetry): ChangeLedger {
  return new TracedLedger(ledger, telemetry) as unknown as ChangeLedger;
}

class TracedLedger {
  constructor(
    readonly ledger: ChangeLedger,
    readonly telemetry: Telemetry,
  ) {}
}

for (const method of Object.keys(LEDGER_METHODS) as Array<keyof ChangeLedger>) {
  const name = `ledger.${method}`;
  Object.defineProperty(TracedLedger.prototype, method, {
    value(this: TracedLedger, ...args: unknown[]): Promise<unknown> {
      return this.telemetry.inSpan(
        name,
        {
          kind: 'client',
          attributes: {
            'db.system.name': 'azure.table',
            'db.operation.name': method,
            'change.requestId': requestIdOf(args),
          },
        },
        () => (this.ledger[method] as (...a: unknown[]) => Promise<unknown>).apply(this.ledger, args),
      );
    },
  });
}

function requestIdOf(args: unknown[]): string | undefined {
  const [first] = args;
  if (typeof first === 'string') return first;
  if (typeof first === 'object' && first !== null && 'requestId' in first && typeof first.requestId === 'string')
    return first.requestId;
  return undefined;
}

/** The publish options with the span's trace (copied without a spread: V8's slow path adds a property to it). */
function withSpanTrace(options: PublishOptions | undefined, span: SpanHandle): PublishOptions {
  const out: PublishOptions = options === undefined ? {} : Object.assign({}, options);
  out.trace = span.telemetry.carrier();
  return out;
}

/**
 * Publishing in a producer span; the event carries that span as its CloudEvents traceparent. A class: bound per
 * span that does work (each change), one small object per binding.
 */
function tracedPublisher(publisher: ResultPublisher, telemetry: Telemetry): ResultPublisher {
  return new TracedPublisher(publisher, telemetry);
}

class TracedPublisher implements ResultPublisher {
  constructor(
    private readonly publisher: ResultPublisher,
    private readonly telemetry: Telemetry,
  ) {}

  publish(outcome: Outcome, options?: PublishOptions): Promise<void> {
    return this.telemetry.inSpan(
      'publish result',
      { kind: 'producer', attributes: { 'change.requestId': outcome.requestId, 'change.status': outcome.status } },
      (span) => this.publisher.publish(outcome, withSpanTrace(options, span)),
    );
  }

  publishChangeSet(outcome: SetOutcome, options?: PublishOptions): Promise<void> {
    return this.telemetry.inSpan(
      'publish change set',
      { kind: 'producer', attributes: { 'change.requestId': outcome.requestId, 'change.status': outcome.status } },
      (span) => this.publisher.publishChangeSet(outcome, withSpanTrace(options, span)),
    );
  }

  warm(): Promise<void> {
    return this.publisher.warm?.() ?? Promise.resolve();
  }
}

/** Publishing a circuit-breaker event in a producer span; the event carries that span as its CloudEvents traceparent. */
export function tracedBreakerPublisher(publisher: BreakerPublisher, telemetry: Telemetry): BreakerPublisher {
  return {
    publish: (event) =>
      telemetry.inSpan(
        'publish breaker event',
        { kind: 'producer', attributes: { 'cloudevents.event_type': event.type } },
        (span) => publisher.publish(withTrace(event, span.telemetry.carrier())),
      ),
  };
}

/** Application properties carrying a trace, as the Service Bus SDK sets them (Diagnostic-Id) and W3C names them. */
export function traceProperties(carrier: TraceCarrier | undefined): Record<string, string> {
  if (carrier === undefined) return {};
  const properties: Record<string, string> = { 'Diagnostic-Id': carrier.traceparent, traceparent: carrier.traceparent };
  if (carrier.tracestate !== undefined) properties['tracestate'] = carrier.tracestate;
  return properties;
}

/** Enqueueing in a producer span; every message carries that span, so its consumer continues the trace. */
export function tracedQueue(queue: ChangeQueue, telemetry: Telemetry): ChangeQueue {
  return {
    enqueue: (changes: QueuedChange[]) =>
      telemetry.inSpan(
        'enqueue change requests',
        { kind: 'producer', attributes: { 'messaging.batch.message_count': changes.length } },
        (span) => {
          const properties = traceProperties(span.telemetry.carrier());
          return queue.enqueue(
            changes.map((change) => ({
              ...change,
              applicationProperties: { ...change.applicationProperties, ...properties },
            })),
          );
        },
      ),
  };
}

/** The ports one change uses (ChangePorts.tracedChange), their spans children of `telemetry`'s. */
export function tracedChangePorts(ports: ChangeSpanPorts, telemetry: Telemetry): ChangeSpanPorts {
  return {
    arm: tracedArm(ports.arm, telemetry),
    ledger: ports.ledger === undefined ? undefined : tracedLedger(ports.ledger, telemetry),
    publisher: tracedPublisher(ports.publisher, telemetry),
  };
}

/** The ARM client with every send reported to `telemetry`: client spans (children of its span) and metrics. */
function tracedArm(arm: ArmBackendClient, telemetry: Telemetry): ArmBackendClient {
  return new ObservedArm(arm, telemetry);
}

type WriteOptions = CallOptions & { ifMatch?: string; currentEtag?: string | null };

/**
 * Passes each call on with itself as the observer in its options: one object per binding (it is bound per change),
 * its methods shared.
 */
class ObservedArm implements ArmBackendClient, ArmObserver {
  constructor(
    private readonly arm: ArmBackendClient,
    private readonly telemetry: Telemetry,
  ) {}

  attemptStarted(method: string, role: 'operation' | 'read'): ArmAttemptHandle {
    return attemptSpan(this.telemetry, method, role);
  }
  limiterWaited(ms: number): void {
    recordLimiterWait(this.telemetry, ms);
  }

  getEntityTag(target: BackendTarget, options?: CallOptions) {
    return this.arm.getEntityTag(target, this.observed(options));
  }
  get(target: BackendTarget, options?: CallOptions) {
    return this.arm.get(target, this.observed(options));
  }
  list(scope: BackendScope, options?: CallOptions) {
    return this.arm.list(scope, this.observed(options));
  }
  createOrUpdate(target: BackendTarget, body: unknown, options?: WriteOptions) {
    return this.arm.createOrUpdate(target, body, this.observed(options));
  }
  update(target: BackendTarget, body: unknown, options?: WriteOptions) {
    return this.arm.update(target, body, this.observed(options));
  }
  reconnect(target: BackendTarget, body?: unknown, options?: CallOptions) {
    return this.arm.reconnect(target, body, this.observed(options));
  }
  delete(target: BackendTarget, options?: CallOptions & { ifMatch?: string }) {
    return this.arm.delete(target, this.observed(options));
  }

  /** The options with the observer (copied without a spread: V8's slow path adds a property to it). */
  private observed<O extends CallOptions>(options: O | undefined): O {
    const out = (options === undefined ? {} : Object.assign({}, options)) as O;
    out.observer = this;
    return out;
  }
}
