/**
 * The scheduled reconnect: one reconnect change request per backend named by RECONNECT_TARGETS (backend ids, or
 * service ids meaning every backend in them), queued. The requestId is derived from the backend and the scheduled
 * time, so a re-fired timer yields the same ids (and the queue's duplicate detection or the ledger drops the copies).
 */
import { backendResourceId, parseResourceId, type BackendTarget } from '../domain/backend-id';
import { timerRequest } from '../domain/reserved-ids';
import { isInScope } from '../domain/scope-policy';
import type { Logger } from './logger-ports';
import { queuedChange } from './queue-handoff';
import type { QueuedChange } from './queue-ports';
import type { ServiceContext } from './service-context';

/** What a run did: how many requests it queued, and the targets it could not expand or may not touch. */
export interface FanOut {
  scheduledAt: Date;
  enqueued: number;
  failures: string[];
}

export async function fanOutReconnect(ctx: ServiceContext, scheduledAt: Date, logger: Logger): Promise<FanOut> {
  const { ports, settings } = ctx;
  if (settings.reconnect.targets.length === 0) {
    logger.info('RECONNECT_TARGETS is empty: nothing to reconnect');
    return { scheduledAt, enqueued: 0, failures: [] };
  }
  const backends: BackendTarget[] = [];
  const failures: string[] = [];
  for (const id of settings.reconnect.targets) {
    const parsed = parseResourceId(id);
    if (parsed === undefined) {
      failures.push(`${id}: not an API Management service, workspace or backend id`);
    } else if ((parsed.kind === 'backend' ? parsed.target : parsed.scope).workspaceId !== undefined) {
      // ARM has no reconnect operation for workspace backends (2024-05-01): such a target can only be refused.
      failures.push(`${id}: workspace backends cannot be reconnected`);
    } else if (!isInScope(id, settings.engine.allowedScopes ?? [])) {
      // Refused before any ARM call, the list included.
      failures.push(`${id}: outside ALLOWED_SCOPES`);
    } else if (parsed.kind === 'backend') {
      backends.push(parsed.target);
    } else {
      const deadline = ports.clock.now() + settings.engine.deadlineMs;
      const listed = await ports.arm.list(parsed.scope, { deadline, logger });
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
    reconnectChange(target, scheduledAt, settings.reconnect.after, settings.queue.sessions),
  );
  await ports.queue.enqueue(changes);
  logger.info('Scheduled reconnect fanned out', {
    scheduledAt: scheduledAt.toISOString(),
    enqueued: changes.length,
    failedTargets: failures.length,
  });
  return { scheduledAt, enqueued: changes.length, failures };
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
  return queuedChange(body, String(body['requestId']), target, sessions);
}
