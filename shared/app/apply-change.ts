import { randomUUID } from 'node:crypto';
import type { ArmBackendClient, ArmResult, CallOptions } from './arm-ports';
import { failure, settleRecorded, withArmHeaders, type Finish, type OutcomeBody } from './arm-outcome';
import { backendResourceId } from '../domain/backend-id';
import type { ChangeRequest } from '../domain/contract/change-request';
import type { ErrorBody } from '../domain/contract/error-response';
import type { Outcome } from '../domain/contract/outcome';
import type { Clock } from './clock-ports';
import type { Logger } from './logger-ports';
import type { Fingerprinter } from '../domain/fingerprint';
import { buildPlan, planChanges } from '../domain/plan';
import { redactSecrets, scrubSecretValues, secretValues } from '../domain/redact';
import { checkScope, type AllowedScopes } from '../domain/scope-policy';
import type { TargetQueue } from './target-queue';
import { expectedStateHash, RECONNECT_UNKNOWN, UNOBSERVABLE, untouchedSince, type IntentPort } from './write-intent';

/** What the engine needs from the outside world. */
export interface EngineDeps {
  arm: ArmBackendClient;
  clock: Clock;
  logger: Logger;
  settings: EngineSettings;
  /** The ledger's view of this delivery's write intent; absent without a ledger (nothing to recover from then). */
  intent?: IntentPort;
  /** The process's per-backend write queue: one change per backend at a time in this process. */
  targetQueue?: TargetQueue;
  /** Fingerprints requests and the recorded state hash (LEDGER_FINGERPRINT_KEY). Default: the keyless legacy scheme. */
  fingerprints?: Fingerprinter;
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
 * Applies one validated change request to ARM and returns its outcome. Never throws for expected
 * failures: refusals, ARM errors and exhausted retries are all outcomes.
 */
export async function applyChange(request: ChangeRequest, deps: EngineDeps): Promise<Outcome> {
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

  const write = (): Promise<Outcome> => readAndWrite(request, deps, call, finish);
  if (deps.targetQueue === undefined) return write();
  // Changes to one backend run one at a time in this process: concurrent writers would only spend ARM's write
  // budget on 412s. The wait is bounded by the change's deadline and ends on abort.
  const queued = await deps.targetQueue.run(base.target.toLowerCase(), write, call);
  return queued.kind === 'done'
    ? queued.value
    : finish({
        status: 'failed',
        attempts: 0,
        error: {
          code: 'Timeout',
          message: 'Earlier changes to the same backend kept it busy until the deadline; the change may be retried.',
        },
      });
}

/** Reads (when needed), records the write intent (with a ledger), writes, and reports. */
async function readAndWrite(
  request: ChangeRequest,
  deps: EngineDeps,
  call: CallOptions,
  finish: Finish,
): Promise<Outcome> {
  const { intent } = deps;
  const recorded = intent?.recorded;
  const writesState = request.operation !== 'reconnect';
  let reads = 0;
  // The ETag just read (null: no such backend) lets a PUT be sent conditionally without another read.
  let currentEtag: string | null | undefined;
  // The state just read (null: no such backend); undefined when not read.
  let currentBody: unknown;
  const skipCheck =
    deps.settings.skipUnchanged && (request.operation === 'createOrUpdate' || request.operation === 'update');
  if (skipCheck || (intent !== undefined && writesState)) {
    const current = await deps.arm.get(request.target, call);
    reads += current.attempts;
    if (current.kind === 'ok') {
      currentEtag = current.headers.etag;
      currentBody = current.body;
    } else if (current.kind === 'armError' && current.status === 404) {
      currentEtag = null;
      currentBody = null;
    } else if (intent !== undefined) {
      // Without the current ETag there is nothing to make the write conditional on: no write.
      return finish({ ...failure(current), attempts: 0, reads });
    }
    if (recorded !== undefined && currentBody !== undefined) {
      const seen = currentBody === null ? null : { etag: currentEtag ?? undefined };
      // Written since the earlier delivery recorded its intent: by that delivery (done) or by someone later.
      if (!untouchedSince(recorded, seen)) return settleRecorded(request, recorded.etag, current, reads, finish);
    }
    if (current.kind === 'ok' && skipCheck && matchesIfMatch(request.ifMatch, current.headers.etag)) {
      if (planChanges(request.operation, current.body, request.body ?? {}, request.target).length === 0) {
        deps.logger.info('Backend already in the desired state; no write sent', { requestId: request.requestId });
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

  if (intent !== undefined) {
    if (recorded === undefined) {
      await intent.record({
        etag: currentEtag ?? null,
        stateHash: writesState ? expectedStateHash(request, currentBody ?? null, deps.fingerprints) : UNOBSERVABLE,
      });
    } else if (!writesState) {
      return finish({ status: 'failed', attempts: 0, reads, error: RECONNECT_UNKNOWN });
    }
  }

  // A later delivery writes on the recorded ETag (unless the caller's own ETag is stricter), never a fresh one.
  const pinned =
    typeof recorded?.etag === 'string' && (request.ifMatch === undefined || request.ifMatch === '*')
      ? recorded.etag
      : undefined;
  const result = await send(request, deps.arm, call, currentEtag, pinned);
  reads += result.reads;
  if (pinned !== undefined && result.kind === 'armError' && result.status === 412) {
    const now = await deps.arm.get(request.target, call);
    return settleRecorded(request, recorded?.etag ?? null, now, reads + now.attempts, finish, result.attempts);
  }
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
  pinned: string | undefined,
): Promise<ArmResult> {
  // A copy of `call` (whatever it carries) with the ETags set by assignment: no spread followed by added properties
  // (V8's slow path). A later delivery's recorded ETag (`pinned`) replaces the caller's `*` or absent one.
  const withEtag: CallOptions & { ifMatch?: string; currentEtag?: string | null } = Object.assign({}, call);
  const ifMatch = pinned ?? request.ifMatch;
  if (ifMatch !== undefined) withEtag.ifMatch = ifMatch;
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
