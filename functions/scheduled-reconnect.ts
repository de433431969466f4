import type { InvocationContext, Timer } from '@azure/functions';
import { Cron } from 'croner';
import { contextLogger } from './context-logger';
import { invocationTelemetry } from './telemetry';
import type { ServicesProvider } from './composition-root';

/**
 * Timer trigger: the change service fans out one reconnect change request per backend named by RECONNECT_TARGETS
 * for the schedule's occurrence this run belongs to. Targets it could not expand or may not touch fail the run
 * (after the others are queued), so the host retries it; the same occurrence yields the same requestIds.
 */
export function scheduledReconnectHandler(services: ServicesProvider, schedule: () => string | undefined) {
  return async (timer: Timer | undefined, context: InvocationContext): Promise<void> => {
    const svc = services();
    const scheduledAt = scheduledTime(timer, schedule(), new Date(svc.clock.now()));
    const { failures } = await svc.changes.fanOutReconnect(
      scheduledAt,
      contextLogger(context),
      invocationTelemetry(context),
    );
    if (failures.length > 0) throw new Error(`Some reconnect targets failed: ${failures.join('; ')}`);
  };
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
