/**
 * A backend's breaker history from its recorded events: when each rule's breaker was open and closed, for how long,
 * and what we did. Pure.
 */
import { msToIsoDuration } from './breaker-durations';
import type { BreakerAction, BreakerEventData } from './breaker-record';

export interface BreakerPeriod {
  rule: string;
  state: 'open' | 'closed';
  /** Event time that began the period. */
  from: string;
  /** Event time that ended it; absent while it lasts. */
  to?: string;
  /** ISO 8601 and milliseconds; absent while it lasts. */
  duration?: string;
  durationMs?: number;
  /** The events of the period (the first began it; more Opened events come from other gateway instances). */
  events: string[];
  actions: Array<BreakerAction['taken']>;
}

export interface BreakerHistory {
  backend: string;
  events: Array<Pick<BreakerEventData, 'eventId' | 'state' | 'rule' | 'eventTime' | 'tripDuration' | 'action'>>;
  periods: BreakerPeriod[];
}

/** The history of one backend from its records (any order), oldest first. */
export function breakerHistory(backend: string, records: readonly BreakerEventData[]): BreakerHistory {
  const sorted = [...records].sort(
    (a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime) || a.eventId.localeCompare(b.eventId),
  );
  const periods: BreakerPeriod[] = [];
  const current = new Map<string, BreakerPeriod>();
  for (const record of sorted) {
    const key = record.rule.toLowerCase();
    const state = record.state === 'opened' ? 'open' : 'closed';
    const open = current.get(key);
    if (open !== undefined && open.state === state) {
      open.events.push(record.eventId);
      open.actions.push(record.action.taken);
      continue;
    }
    if (open !== undefined) {
      open.to = record.eventTime;
      open.durationMs = Math.max(0, Date.parse(record.eventTime) - Date.parse(open.from));
      open.duration = msToIsoDuration(open.durationMs);
    }
    const period: BreakerPeriod = {
      rule: record.rule,
      state,
      from: record.eventTime,
      events: [record.eventId],
      actions: [record.action.taken],
    };
    periods.push(period);
    current.set(key, period);
  }
  return {
    backend,
    events: sorted.map((r) => {
      const event: BreakerHistory['events'][number] = {
        eventId: r.eventId,
        state: r.state,
        rule: r.rule,
        eventTime: r.eventTime,
        action: r.action,
      };
      if (r.tripDuration !== undefined) event.tripDuration = r.tripDuration;
      return event;
    }),
    periods,
  };
}
