import type { InvocationContext, Timer } from '@azure/functions';
import { Cron } from 'croner';
import { backendResourceId, parseResourceId, type BackendTarget } from '../shared/domain/backend-id';
import { timerRequest } from '../shared/domain/reserved-ids';
import { isInScope } from '../shared/domain/scope-policy';
import type { QueuedChange } from '../shared/adapters/service-bus/change-queue';
import { backendSessionId } from '../shared/domain/session-id';
import { contextLogger } from './context-logger';
import type { ServicesProvider } from './composition-root';

/**
 * Timer trigger: fans out one reconnect change request per backend named by `RECONNECT_TARGETS` (backend ids, or
 * service/workspace ids meaning every backend in them) to the change-request queue. The requestId is derived from
 * the backend and the scheduled time, so a re-fired timer yields the same ids (and the queue's duplicate detection
 * or the ledger drops the copies).
 */
export function scheduledReconnectHandler(services: ServicesProvider, schedule: () => string | undefined) {
  return async (timer: Timer | undefined, context: InvocationContext): Promise<void> => {
    const svc = services();
    const logger = contextLogger(context);
    const targets = svc.config.reconnectTargets;
    if (targets.length === 0) {
      logger.info('RECONNECT_TARGETS is empty: nothing to reconnect');
      return;
    }
    const scheduledAt = scheduledTime(timer, schedule(), new Date(svc.clock.now()));
    const backends: BackendTarget[] = [];
    const failures: string[] = [];
    for (const id of targets) {
      const parsed = parseResourceId(id);
      if (parsed === undefined) {
        failures.push(`${id}: not an API Management service, workspace or backend id`);
      } else if ((parsed.kind === 'backend' ? parsed.target : parsed.scope).workspaceId !== undefined) {
        // ARM has no reconnect operation for workspace backends (2024-05-01): such a target can only be refused.
        failures.push(`${id}: workspace backends cannot be reconnected`);
      } else if (!isInScope(id, svc.config.allowedScopes)) {
        // Refused before any ARM call, the list included.
        failures.push(`${id}: outside ALLOWED_SCOPES`);
      } else if (parsed.kind === 'backend') {
        backends.push(parsed.target);
      } else {
        const listed = await svc.arm.list(parsed.scope, { deadline: svc.clock.now() + svc.config.deadlineMs, logger });
        if (listed.kind !== 'ok') {
          failures.push(`${id}: listing backends failed (${listed.error.code})`);
          continue;
        }
        for (const item of listed.body.value) {
          const itemId = (item as { id?: unknown }).id;
          const member = typeof itemId === 'string' ? parseResourceId(itemId) : undefined;
          if (member?.kind === 'backend') backends.push(member.target);
        }
      }
    }
    const changes = dedupe(backends).map((target) =>
      reconnectChange(target, scheduledAt, svc.config.reconnectAfter, svc.config.sessions),
    );
    await svc.queue.enqueue(changes);
    logger.info('Scheduled reconnect fanned out', {
      scheduledAt: scheduledAt.toISOString(),
      enqueued: changes.length,
      failedTargets: failures.length,
    });
    if (failures.length > 0) throw new Error(`Some reconnect targets failed: ${failures.join('; ')}`);
  };
}

function dedupe(targets: BackendTarget[]): BackendTarget[] {
  const seen = new Map<string, BackendTarget>();
  for (const target of targets) seen.set(backendResourceId(target).toLowerCase(), target);
  return [...seen.values()];
}

/** The reconnect change request for one backend at one scheduled time. */
export function reconnectChange(
  target: BackendTarget,
  scheduledAt: Date,
  after: string | undefined,
  sessions = false,
): QueuedChange {
  // The id's shape is reserved for the timer (shared/domain/reserved-ids.ts): no caller can register it first.
  const body = timerRequest(target, scheduledAt, after);
  const requestId = String(body['requestId']);
  return { body, messageId: requestId, ...(sessions ? { sessionId: backendSessionId(target) } : {}) };
}

/**
 * The occurrence this run belongs to: the latest schedule occurrence at or before now (so a re-fired or late timer
 * maps to the same time); without a usable schedule, now truncated to the minute.
 */
export function scheduledTime(_timer: Timer | undefined, schedule: string | undefined, now: Date): Date {
  if (schedule !== undefined) {
    try {
      const previous = new Cron(schedule, { paused: true }).previousRuns(1, new Date(now.getTime() + 1000))[0];
      if (previous !== undefined) return previous;
    } catch {
      // An unparseable schedule is the host's problem to report; fall back below.
    }
  }
  return new Date(Math.floor(now.getTime() / 60000) * 60000);
}
