/**
 * The ports with spans around them: ledger operations, publishing and enqueueing become child spans of the change,
 * and the messages they send carry the trace on. Applied once, in the composition root, when telemetry is on.
 */
import type { ChangeLedger } from '../shared/app/ledger-ports';
import type { ChangeQueue, QueuedChange } from '../shared/app/queue-ports';
import type { Telemetry, TraceCarrier } from '../shared/app/telemetry-ports';
import type { ResultPublisher } from '../shared/app/publisher-ports';
import type { BreakerAdapters } from './circuit-breaker-adapters';
import { withTrace } from '../shared/domain/cloud-event';

/** Every ledger call in a `ledger.<method>` span (with the requestId when the call names one). */
export function tracedLedger(ledger: ChangeLedger, telemetry: Telemetry): ChangeLedger {
  return new Proxy(ledger, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return (...args: unknown[]) =>
        telemetry.inSpan(
          `ledger.${property}`,
          {
            kind: 'client',
            attributes: {
              'db.system.name': 'azure.table',
              'db.operation.name': property,
              'change.requestId': requestIdOf(args),
            },
          },
          () => method.apply(target, args),
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

/** Publishing in a producer span; the event carries that span as its CloudEvents traceparent. */
export function tracedPublisher(publisher: ResultPublisher, telemetry: Telemetry): ResultPublisher {
  const traced: ResultPublisher = {
    publish: (outcome, options) =>
      telemetry.inSpan(
        'publish result',
        { kind: 'producer', attributes: { 'change.requestId': outcome.requestId, 'change.status': outcome.status } },
        () => publisher.publish(outcome, { ...options, trace: telemetry.carrier() }),
      ),
    publishChangeSet: (outcome, options) =>
      telemetry.inSpan(
        'publish change set',
        { kind: 'producer', attributes: { 'change.requestId': outcome.requestId, 'change.status': outcome.status } },
        () => publisher.publishChangeSet(outcome, { ...options, trace: telemetry.carrier() }),
      ),
  };
  if (publisher.warm !== undefined) traced.warm = () => publisher.warm!();
  return traced;
}

/** Publishing a circuit-breaker event in a producer span; the event carries that span as its CloudEvents traceparent. */
export function tracedBreaker(breaker: BreakerAdapters, telemetry: Telemetry): BreakerAdapters {
  return {
    store: breaker.store,
    publisher: {
      publish: (event) =>
        telemetry.inSpan(
          'publish breaker event',
          { kind: 'producer', attributes: { 'cloudevents.event_type': event.type } },
          () => breaker.publisher.publish(withTrace(event, telemetry.carrier())),
        ),
    },
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
        () => {
          const properties = traceProperties(telemetry.carrier());
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
