import { randomUUID } from 'node:crypto';
import type { ArmBackendClient, ArmHeaders, ArmResult, CallOptions, TransientCode } from '../arm/arm-client-types';
import { backendResourceId } from '../arm/resource-id';
import type { ChangeRequest } from '../contract/change-request';
import type { ErrorBody } from '../contract/error-response';
import type { Outcome } from '../contract/outcome';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import { buildPlan, planChanges } from './plan';
import { redactSecrets, scrubSecretValues, secretValues } from './redact';
import { checkScope, type AllowedScopes } from './scope-policy';

/** What the engine needs from the outside world. */
export interface EngineDeps {
  arm: ArmBackendClient;
  clock: Clock;
  logger: Logger;
  settings: EngineSettings;
}

/** The settings the engine obeys. */
export interface EngineSettings {
  allowDelete: boolean;
  /** Total budget for one change, retries included; must stay below the function timeout. */
  deadlineMs: number;
  /** Compare desired and current state first and skip writes that would change nothing. */
  skipUnchanged: boolean;
  /** ARM id prefixes changes may target (target and pool members); empty allows all. */
  allowedScopes?: AllowedScopes;
  /** The api-version of requests that name none (ARM_API_VERSION); default 2024-05-01. */
  apiVersion?: string;
}

/**
 * Executes one validated change request against ARM and returns its outcome. Never throws for expected
 * failures: refusals, ARM errors and exhausted retries are all outcomes.
 */
export async function executeChange(request: ChangeRequest, deps: EngineDeps): Promise<Outcome> {
  const started = deps.clock.now();
  const base = {
    requestId: request.requestId ?? randomUUID(),
    operation: request.operation,
    target: backendResourceId(request.target),
  };
  // Built by assignment, not `{ ...base, ...rest, durationMs }`: a property added after a spread takes V8's slow
  // path (microseconds per outcome instead of nanoseconds).
  const finish = (rest: Omit<Outcome, 'requestId' | 'operation' | 'target' | 'durationMs'>): Outcome => {
    const outcome = { requestId: base.requestId, operation: base.operation, target: base.target } as Outcome;
    if (request.apiVersion !== undefined) outcome.apiVersion = request.apiVersion;
    Object.assign(outcome, rest);
    outcome.durationMs = deps.clock.now() - started;
    return outcome;
  };

  const refusal = policyRefusal(request, deps.settings);
  if (refusal !== undefined) return finish({ status: 'rejected', attempts: 0, error: refusal });

  const call: CallOptions = { deadline: started + deps.settings.deadlineMs, logger: deps.logger };
  // Sent with the api-version the request was validated against (ARM drops fields its version does not know).
  if (request.apiVersion !== undefined) call.apiVersion = request.apiVersion;

  if (request.dryRun) {
    const current = await deps.arm.get(request.target, call);
    if (current.kind === 'ok' || (current.kind === 'armError' && current.status === 404)) {
      const state = current.kind === 'ok' ? current.body : null;
      return finish(
        withArmHeaders<OutcomeBody>(
          {
            status: 'succeeded',
            dryRun: true,
            httpStatus: current.status,
            attempts: 0,
            reads: current.attempts,
            plan: buildPlan(request.operation, state, request.body ?? {}, request.target),
          },
          current.headers,
        ),
      );
    }
    const failed = failure(current) as OutcomeBody;
    failed.dryRun = true;
    failed.attempts = 0;
    failed.reads = current.attempts;
    return finish(failed);
  }

  let reads = 0;
  // The ETag just read (null: no such backend) lets a PUT be sent conditionally without another read.
  let currentEtag: string | null | undefined;
  if (deps.settings.skipUnchanged && (request.operation === 'createOrUpdate' || request.operation === 'update')) {
    const current = await deps.arm.get(request.target, call);
    reads += current.attempts;
    if (current.kind === 'ok') currentEtag = current.headers.etag;
    else if (current.kind === 'armError' && current.status === 404) currentEtag = null;
    if (current.kind === 'ok' && matchesIfMatch(request.ifMatch, current.headers.etag)) {
      if (planChanges(request.operation, current.body, request.body ?? {}, request.target).length === 0) {
        deps.logger.info('Backend already in the desired state; no write sent', { requestId: base.requestId });
        return finish(
          withArmHeaders<OutcomeBody>(
            {
              status: 'succeeded',
              unchanged: true,
              httpStatus: current.status,
              attempts: 0,
              reads,
              backend: redactSecrets(current.body),
            },
            current.headers,
          ),
        );
      }
    }
    // A failed read is no reason to refuse the write: the write itself decides (and reports) what ARM says.
  }

  const result = await send(request, deps.arm, call, currentEtag);
  reads += result.reads;
  if (result.kind !== 'ok') {
    const failed = failure(result) as OutcomeBody;
    failed.error = scrubSecretValues(failed.error, secretValues(request.body));
    failed.attempts = result.attempts;
    failed.reads = reads;
    return finish(failed);
  }
  const outcome = withArmHeaders<OutcomeBody>(
    { status: 'succeeded', httpStatus: result.status, attempts: result.attempts, reads },
    result.headers,
  );
  if (typeof currentEtag === 'string') outcome.etagBefore = currentEtag;
  if (request.operation === 'createOrUpdate') outcome.created = result.status === 201;
  if (result.body !== undefined && result.body !== null && Object.keys(result.body).length > 0) {
    outcome.backend = redactSecrets(result.body);
  }
  return finish(outcome);
}

/**
 * The policy checks that refuse a valid request before any ARM call: deletes unless allowed, and targets or pool
 * members outside the allowed scopes. Also used where requests are accepted for later (HTTP async).
 */
export function policyRefusal(request: ChangeRequest, settings: EngineSettings): ErrorBody | undefined {
  if (request.operation === 'delete' && !settings.allowDelete) {
    return {
      code: 'OperationNotAllowed',
      message: 'Deleting backends is disabled. Set ALLOW_DELETE=true to allow it.',
      target: 'operation',
    };
  }
  return checkScope(request, settings.allowedScopes ?? []);
}

function send(
  request: ChangeRequest,
  arm: ArmBackendClient,
  call: CallOptions,
  currentEtag: string | null | undefined,
): Promise<ArmResult> {
  // A copy of `call` (whatever it carries) with the ETags set by assignment: no spread followed by added properties
  // (V8's slow path).
  const withEtag: CallOptions & { ifMatch?: string; currentEtag?: string | null } = Object.assign({}, call);
  if (request.ifMatch !== undefined) withEtag.ifMatch = request.ifMatch;
  if (currentEtag !== undefined) withEtag.currentEtag = currentEtag;
  switch (request.operation) {
    case 'createOrUpdate':
      return arm.createOrUpdate(request.target, request.body, withEtag);
    case 'update':
      return arm.update(request.target, request.body, withEtag);
    case 'reconnect':
      return arm.reconnect(request.target, request.body, call);
    case 'delete':
      return arm.delete(request.target, withEtag);
    default:
      return request.operation satisfies never;
  }
}

// Skipping is only honest when the write would have been allowed: an explicit ETag that no longer matches must
// still fail as the caller asked.
function matchesIfMatch(ifMatch: string | undefined, etag: string | undefined): boolean {
  return ifMatch === undefined || ifMatch === '*' || (etag !== undefined && ifMatch === etag);
}

/** `out` with ARM's headers set on it (in place: no spread into a new object). */
function withArmHeaders<T extends object>(out: T, headers: ArmHeaders): T {
  const set = out as Pick<Outcome, 'etag' | 'armRequestId' | 'armCorrelationRequestId'>;
  if (headers.etag !== undefined) set.etag = headers.etag;
  if (headers.requestId !== undefined) set.armRequestId = headers.requestId;
  if (headers.correlationRequestId !== undefined) set.armCorrelationRequestId = headers.correlationRequestId;
  return out;
}

/** An outcome without the fields `finish` adds. */
type OutcomeBody = Omit<Outcome, 'requestId' | 'operation' | 'target' | 'durationMs'>;

function failure(
  result: Exclude<ArmResult, { kind: 'ok' }>,
): Omit<Outcome, 'requestId' | 'operation' | 'target' | 'durationMs' | 'attempts'> {
  if (result.kind === 'armError') {
    // ARM refused: its own error, passed through.
    return withArmHeaders<Omit<OutcomeBody, 'attempts'>>(
      { status: 'failed', httpStatus: result.status, error: redactSecrets(result.error) },
      result.headers,
    );
  }
  // Retries exhausted: our code (what the caller can act on), ARM's last error kept as a detail.
  const error: ErrorBody = { code: result.code, message: TRANSIENT_MESSAGES[result.code] };
  error.details = [{ code: result.error.code, message: result.error.message }];
  const out: Omit<Outcome, 'requestId' | 'operation' | 'target' | 'durationMs' | 'attempts'> = withArmHeaders<
    Omit<OutcomeBody, 'attempts'>
  >({ status: 'failed', error: redactSecrets(error) }, result.headers);
  if (result.status !== undefined) out.httpStatus = result.status;
  if (result.retryAfterMs !== undefined) out.retryAfterMs = Math.ceil(result.retryAfterMs);
  return out;
}

const TRANSIENT_MESSAGES: Record<TransientCode, string> = {
  Throttled: 'ARM kept throttling the request until the deadline; retry after the advised delay.',
  UpstreamUnavailable: 'ARM stayed unavailable until the deadline; the change may be retried.',
  Timeout: 'The change did not complete before its deadline; the change may be retried.',
};
