/**
 * `POST /api/backend-changes`, after the trigger has read and authenticated the call: one change or a change set,
 * applied synchronously within the HTTP budget (`apply`), or accepted for the queue (`accept`, Prefer:
 * respond-async) and registered in the ledger so its status is known at once.
 */
import { backendResourceId } from '../domain/backend-id';
import { parseChangeRequest } from '../domain/contract/change-request';
import { CHANGE_SET_OPERATION, isChangeSetInput, type SetOutcome } from '../domain/contract/change-set';
import type { ErrorBody } from '../domain/contract/error-response';
import { exceedsDepth } from '../domain/contract/json-depth';
import type { Outcome } from '../domain/contract/outcome';
import type { RequestFingerprint } from '../domain/fingerprint';
import { TERMINAL_STATES } from '../domain/ledger-state';
import { outcomeSummary } from '../domain/outcome-summary';
import { isReservedRequestId } from '../domain/reserved-ids';
import { policyRefusal } from './apply-change';
import { prepareChangeSet, processChangeSet } from './apply-change-set';
import type { Logger } from './logger-ports';
import { withRequestId, type Delivery, type ProcessDeps } from './process-change';
import { enqueueChange, worthHandingOff } from './queue-handoff';
import { processDepsOf, type ServiceContext } from './service-context';
import { processChangeTraced } from './traced-change';

/** A POSTed change request or change set, read and authenticated by the trigger. */
export interface HttpSubmission {
  /** The parsed JSON body; undefined when it was not JSON (`notJson` says so). */
  raw: unknown;
  notJson?: ErrorBody | undefined;
  /** The requestId when the body names none (the Idempotency-Key, or one derived from the signed call). */
  fallbackRequestId: string;
  correlationId: string;
}

/** What to answer. */
export type HttpAnswer =
  | { kind: 'outcome'; outcome: Outcome; duplicate: boolean }
  | { kind: 'setOutcome'; outcome: SetOutcome; duplicate: boolean }
  /** Queued: 202 with the status URL. `retryAfterMs`: ARM's advice when a transient change was handed over. */
  | { kind: 'accepted'; requestId: string; set: boolean; retryAfterMs?: number | undefined }
  /** The queue did not take the request: nothing was accepted. */
  | { kind: 'queueUnavailable' }
  /** Another delivery is applying this requestId right now. */
  | { kind: 'busy'; requestId: string };

/** Applies the change (or set) within the synchronous budget; a change still transient then goes to the queue. */
export async function applyHttp(ctx: ServiceContext, input: HttpSubmission, logger: Logger): Promise<HttpAnswer> {
  const deps = httpDeps(ctx, logger);
  const delivery = httpDelivery(ctx, input);
  if (input.notJson === undefined && isChangeSetInput(input.raw)) return applySet(input.raw, delivery, deps);
  return applyOne(ctx, input, delivery, deps);
}

/**
 * Queues a valid, allowed change (or set) and registers it in the ledger; what cannot be accepted (invalid,
 * refused, a dry run, already decided, a conflicting reuse of its requestId) is answered synchronously instead.
 */
export async function acceptHttp(ctx: ServiceContext, input: HttpSubmission, logger: Logger): Promise<HttpAnswer> {
  const deps = httpDeps(ctx, logger);
  const delivery = httpDelivery(ctx, input);
  if (input.notJson === undefined && isChangeSetInput(input.raw)) {
    return (await acceptSet(ctx, input.raw, delivery, deps)) ?? applySet(input.raw, delivery, deps);
  }
  if (input.notJson === undefined) {
    const accepted = await acceptOne(ctx, input.raw, delivery, deps);
    if (accepted !== undefined) return accepted;
  }
  return applyOne(ctx, input, delivery, deps);
}

/**
 * Webhook senders give up after seconds (GitHub after 10) and resend: a synchronous call gets a short budget, and
 * what is still transient then is handed to the queue (202) rather than holding the caller.
 */
function httpDeps(ctx: ServiceContext, logger: Logger): ProcessDeps {
  const deps = processDepsOf(ctx, logger);
  deps.settings.deadlineMs = Math.min(deps.settings.deadlineMs, ctx.settings.time.httpSyncMs);
  return deps;
}

function httpDelivery(ctx: ServiceContext, input: HttpSubmission): Delivery {
  const delivery: Delivery = {
    fallbackRequestId: input.fallbackRequestId,
    correlationId: input.correlationId,
    origin: 'http',
    onTransient: 'answer',
    onPublishFailure: 'defer',
    reservedIds: { policy: 'refuse' },
  };
  if (ctx.settings.queue.configured) delivery.handOff = worthHandingOff;
  return delivery;
}

async function applyOne(
  ctx: ServiceContext,
  input: HttpSubmission,
  delivery: Delivery,
  deps: ProcessDeps,
): Promise<HttpAnswer> {
  const result = await processChangeTraced(ctx.ports.telemetry, input.raw, delivery, deps, input.notJson);
  if (result.kind === 'redeliver') return handOff(ctx, input, result.outcome, deps.logger);
  if (result.kind === 'busy') return result;
  const finished = outcomeSummary(result.outcome);
  finished['duplicate'] = result.duplicate;
  deps.logger.info('Change request finished', finished);
  return result;
}

async function applySet(raw: unknown, delivery: Delivery, deps: ProcessDeps): Promise<HttpAnswer> {
  const result = await processChangeSet(raw, { ...delivery, onTransient: 'answer', onPublishFailure: 'defer' }, deps);
  if (result.kind === 'busy') return result;
  deps.logger.info('Change set finished', {
    requestId: result.outcome.requestId,
    status: result.outcome.status,
    changes: result.outcome.items.length,
    durationMs: result.outcome.durationMs,
    duplicate: result.kind === 'outcome' && result.duplicate,
  });
  return { kind: 'setOutcome', outcome: result.outcome, duplicate: result.kind === 'outcome' && result.duplicate };
}

/** Accepts one change for the queue; undefined when it must be answered synchronously. */
async function acceptOne(
  ctx: ServiceContext,
  raw: unknown,
  delivery: Delivery,
  deps: ProcessDeps,
): Promise<HttpAnswer | undefined> {
  const { ledger, fingerprints } = ctx.ports;
  // Too deep to validate safely, or a reserved id: refused synchronously by processChange.
  if (exceedsDepth(raw)) return undefined;
  const parsed = parseChangeRequest(raw, { defaultApiVersion: deps.settings.apiVersion });
  if (!parsed.ok || parsed.request.dryRun) return undefined;
  const request = withRequestId(parsed.request, delivery.fallbackRequestId);
  const requestId = request.requestId!;
  if (isReservedRequestId(requestId)) return undefined;
  if (policyRefusal(request, deps.settings) !== undefined) return undefined;
  // Fingerprinted once, and only with a ledger; a synchronous answer after all reuses it.
  const fingerprint = ledger === undefined ? undefined : fingerprints.of(request);
  delivery.fingerprint = fingerprint;
  if (fingerprint !== undefined && !(await acceptable(ctx, requestId, fingerprint))) return undefined;
  try {
    await enqueueChange(ctx, raw, { requestId, target: request.target }, delivery.correlationId ?? '');
  } catch (error) {
    deps.logger.error('Enqueueing an async change request failed', { requestId, error: String(error) });
    return { kind: 'queueUnavailable' };
  }
  const target = backendResourceId(request.target);
  if (fingerprint !== undefined) {
    // Registered after it is safely queued, so a failed enqueue leaves no record that waits for ever. The queue
    // consumer may already hold or have finished it: then there is nothing to register.
    await ledger?.register({
      requestId,
      fingerprint: fingerprint.value,
      sameRequest: fingerprint.matches,
      operation: request.operation,
      target,
      now: new Date(ctx.ports.clock.now()),
      origin: 'queue',
    });
  }
  deps.logger.info('Change request accepted for asynchronous processing', { requestId, target });
  return { kind: 'accepted', requestId, set: false };
}

/** Accepts a change set for the queue (one message); undefined when it must be answered synchronously. */
async function acceptSet(
  ctx: ServiceContext,
  raw: unknown,
  delivery: Delivery,
  deps: ProcessDeps,
): Promise<HttpAnswer | undefined> {
  const { ledger, clock } = ctx.ports;
  const prepared = prepareChangeSet(raw, delivery.fallbackRequestId, deps);
  if (!prepared.ok || prepared.set.dryRun) return undefined;
  const { set, fingerprint } = prepared;
  if (!(await acceptable(ctx, set.requestId, fingerprint))) return undefined;
  try {
    await enqueueChange(
      ctx,
      raw,
      { requestId: set.requestId, target: set.items[0]!.request.target },
      delivery.correlationId,
    );
  } catch (error) {
    deps.logger.error('Enqueueing an async change set failed', { requestId: set.requestId, error: String(error) });
    return { kind: 'queueUnavailable' };
  }
  await ledger?.register({
    requestId: set.requestId,
    fingerprint: fingerprint.value,
    sameRequest: fingerprint.matches,
    operation: CHANGE_SET_OPERATION,
    now: new Date(clock.now()),
  });
  deps.logger.info('Change set accepted for asynchronous processing', { requestId: set.requestId });
  return { kind: 'accepted', requestId: set.requestId, set: true };
}

/** Decided or conflicting requests are answered synchronously, from the ledger. */
async function acceptable(ctx: ServiceContext, requestId: string, fingerprint: RequestFingerprint): Promise<boolean> {
  const known = await ctx.ports.ledger?.get(requestId);
  return known === undefined || (fingerprint.matches(known.fingerprint) && !TERMINAL_STATES.has(known.state));
}

/**
 * A synchronous change still transient at the end of its budget (HTTP_SYNC_SECONDS): its record was released, so
 * the queue can take it over; accepted with ARM's advice as Retry-After. When the queue does not take it, the
 * caller gets the transient outcome (429/503 with Retry-After) and may retry the same requestId.
 */
async function handOff(
  ctx: ServiceContext,
  input: HttpSubmission,
  outcome: Outcome,
  logger: Logger,
): Promise<HttpAnswer> {
  const parsed = parseChangeRequest(input.raw, { defaultApiVersion: ctx.settings.engine.apiVersion });
  if (parsed.ok) {
    try {
      await enqueueChange(
        ctx,
        input.raw,
        { requestId: outcome.requestId, target: parsed.request.target },
        input.correlationId,
      );
      logger.info('Change still transient at the end of the synchronous budget; handed to the queue', {
        ...outcomeSummary(outcome),
      });
      return { kind: 'accepted', requestId: outcome.requestId, set: false, retryAfterMs: outcome.retryAfterMs };
    } catch (error) {
      logger.error('Handing a transient change to the queue failed', {
        requestId: outcome.requestId,
        error: String(error),
      });
    }
  }
  return { kind: 'outcome', outcome, duplicate: false };
}
