/**
 * One change in one span: what processChange did, as span attributes and metrics (changes by operation and status,
 * duration, writes skipped as unchanged). ARM attempts, ledger operations and the publish are its children.
 */
import type { ErrorBody } from '../domain/contract/error-response';
import { processChange, type Delivery, type ProcessDeps, type Processed } from './process-change';
import type { SpanHandle, Telemetry } from './telemetry-ports';

/**
 * processChange, in a `change` span when telemetry is on, described in the reaction that ends it. Not async: no
 * promise of its own on top of processChange's.
 */
export function processChangeTraced(
  telemetry: Telemetry,
  raw: unknown,
  delivery: Delivery,
  deps: ProcessDeps,
  notJson?: ErrorBody,
): Promise<Processed> {
  if (!telemetry.enabled) return processChange(raw, delivery, deps, notJson);
  return telemetry.inSpan(
    'change',
    {},
    (span) => processChange(raw, delivery, tracedIn(deps, span), notJson),
    (span, result) => described(telemetry, span, result),
  );
}

/** The dependencies with their ports tracing as children of `span` (copied field by field, no spread-then-add). */
function tracedIn(deps: ProcessDeps, span: SpanHandle): ProcessDeps {
  if (deps.traced === undefined) return deps;
  const ports = deps.traced(span.telemetry);
  const out: ProcessDeps = Object.assign({}, deps);
  out.arm = ports.arm;
  out.ledger = ports.ledger;
  out.publisher = ports.publisher;
  return out;
}

/** The change's span attributes and metrics, from what processChange returned. */
function described(telemetry: Telemetry, span: SpanHandle, result: Processed): void {
  if (result.kind === 'busy') {
    span.set({ 'change.requestId': result.requestId, 'change.result': 'busy' });
    return;
  }
  const { outcome } = result;
  const dimensions = { operation: outcome.operation ?? 'unknown', status: outcome.status };
  span.set({
    'change.requestId': outcome.requestId,
    'change.operation': outcome.operation,
    'change.target': outcome.target,
    'change.status': outcome.status,
    'change.unchanged': outcome.unchanged ?? false,
    'change.attempts': outcome.attempts,
    'change.httpStatus': outcome.httpStatus,
    'change.errorCode': outcome.error?.code,
    'change.result': result.kind === 'outcome' && result.duplicate ? 'duplicate' : result.kind,
  });
  if (result.kind === 'outcome' && !result.duplicate) {
    telemetry.count('changes', 1, dimensions);
    telemetry.record('change.duration', outcome.durationMs / 1000, dimensions);
    if (outcome.unchanged === true) telemetry.count('changes.unchanged', 1, { operation: dimensions.operation });
  }
  if (outcome.status === 'failed') span.fail({ name: outcome.error?.code ?? 'ChangeFailed' });
}
