/**
 * API Management's circuit-breaker events as they arrive (Event Grid schema or CloudEvents 1.0, one event, an array or
 * a CloudEvents batch), normalised into one value. Pure: zod schemas and string rules, no I/O.
 * See ../shared/reference/events/README.md for the shapes and their quirks (hh:mm:ss durations, `specVersion`, the
 * `Gateway.CircuitBreakerOpened` spelling of an announcement, Learn's `backendNme` typo).
 */
import * as z from 'zod';
import { backendResourceId, parseResourceId, type BackendTarget } from './backend-id';
import type { ErrorBody, ErrorDetail } from './contract/error-response';
import { segmentProblem } from './contract/safe-segment';
import { isRecord } from './is-record';
import { timeSpanToIso } from './breaker-durations';

export type BreakerKind = 'opened' | 'closed';

/** Event types we act on, lower-cased: the documented ones and the announcement's spelling. */
const BREAKER_TYPES: ReadonlyMap<string, BreakerKind> = new Map([
  ['microsoft.apimanagement.circuitbreaker.opened', 'opened'],
  ['microsoft.apimanagement.circuitbreaker.closed', 'closed'],
  ['microsoft.apimanagement.gateway.circuitbreakeropened', 'opened'],
  ['microsoft.apimanagement.gateway.circuitbreakerclosed', 'closed'],
]);

export const SUBSCRIPTION_VALIDATION_TYPE = 'Microsoft.EventGrid.SubscriptionValidationEvent';

/** A circuit-breaker event, whichever schema and spelling it came in. */
export interface BreakerEvent {
  /** The event's own id: the key of its ledger record, so a redelivery is recognised. */
  id: string;
  kind: BreakerKind;
  /** The type as received. */
  type: string;
  schema: 'eventgrid' | 'cloudevents';
  backend: BackendTarget;
  /** The backend's ARM id (service or workspace id from `topic`/`source`, plus `backendName`). */
  backendId: string;
  rule: string;
  /** `tripDuration` converted to ISO 8601, when the event carries one. */
  tripDuration?: string;
  /** The event time as sent (ISO 8601). */
  eventTime: string;
}

/** One item of a delivery. */
export type DeliveryItem =
  | { kind: 'breaker'; event: BreakerEvent }
  /** Event Grid's webhook handshake: answer `{ validationResponse: code }`. */
  | { kind: 'validation'; code: string }
  /** Any other event type: acknowledged, not acted on. */
  | { kind: 'ignored'; id: string; type: string };

export type ParsedDelivery = { ok: true; items: DeliveryItem[] } | { ok: false; error: ErrorBody };

const Text = z.string().trim().min(1, 'must be a non-empty string');
const Time = Text.refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 date-time');

const EventGridEnvelope = z.object({
  id: Text,
  eventType: Text,
  topic: z.string().optional(),
  subject: z.string().optional(),
  eventTime: Time,
  data: z.unknown().optional(),
});

const CloudEventEnvelope = z.object({
  id: Text,
  type: Text,
  source: Text,
  subject: z.string().optional(),
  time: Time.optional(),
  data: z.unknown().optional(),
  specversion: z.literal('1.0').optional(),
  // The Learn example writes `specVersion`.
  specVersion: z.literal('1.0').optional(),
});

const BreakerData = z.object({
  backendName: Text.optional(),
  // Learn's table misspells it; accept it where backendName is absent.
  backendNme: Text.optional(),
  circuitBreaker: z
    .object({
      rules: z.record(z.string(), z.object({ tripDuration: z.string().optional() }).loose()),
    })
    .loose()
    .optional(),
});

const SUBJECT = /^(?:\/workspaces\/([^/]+))?\/backends\/([^/]+)(?:\/circuit-breaker\/rules\/([^/]+))?\/?$/i;

/**
 * Parses a delivery: an array (Event Grid events or a CloudEvents batch) or one object (a CloudEvent, or a single
 * Event Grid event). Any malformed item refuses the whole delivery, naming the field (`[1].data.backendName`), so
 * nothing of a bad delivery is acted on.
 */
export function parseDelivery(body: unknown): ParsedDelivery {
  const list = Array.isArray(body) ? body : [body];
  if (list.length === 0) return refuse([{ code: 'Required', target: '[]', message: 'The delivery holds no event.' }]);
  const items: DeliveryItem[] = [];
  const details: ErrorDetail[] = [];
  list.forEach((raw, index) => {
    const at = Array.isArray(body) ? `[${index}]` : '';
    const item = parseItem(raw, at);
    if ('problems' in item) details.push(...item.problems);
    else items.push(item);
  });
  return details.length > 0 ? refuse(details) : { ok: true, items };
}

function refuse(details: ErrorDetail[]): ParsedDelivery {
  return {
    ok: false,
    error: {
      code: 'ValidationError',
      message: `The event delivery is malformed: ${details.map((d) => d.target).join(', ')}.`,
      details,
    },
  };
}

type ItemResult = DeliveryItem | { problems: ErrorDetail[] };

function parseItem(raw: unknown, at: string): ItemResult {
  const path = (field: string): string => (at === '' ? field : `${at}.${field}`);
  if (!isRecord(raw))
    return { problems: [{ code: 'InvalidType', target: at || '$', message: 'An event must be a JSON object.' }] };
  if ('eventType' in raw) {
    const parsed = EventGridEnvelope.safeParse(raw);
    if (!parsed.success) return { problems: issues(parsed.error, path) };
    const e = parsed.data;
    if (e.eventType.toLowerCase() === SUBSCRIPTION_VALIDATION_TYPE.toLowerCase()) {
      const code = isRecord(e.data) ? e.data['validationCode'] : undefined;
      if (typeof code !== 'string' || code === '') {
        return { problems: [{ code: 'Required', target: path('data.validationCode'), message: 'Required.' }] };
      }
      return { kind: 'validation', code };
    }
    const kind = BREAKER_TYPES.get(e.eventType.toLowerCase());
    if (kind === undefined) return { kind: 'ignored', id: e.id, type: e.eventType };
    if (e.topic === undefined) {
      return {
        problems: [
          { code: 'Required', target: path('topic'), message: "The API Management service's ARM id is required." },
        ],
      };
    }
    return breakerEvent(
      { ...e, kind, type: e.eventType, source: e.topic, time: e.eventTime, schema: 'eventgrid' },
      path,
      'topic',
    );
  }
  if ('type' in raw) {
    const parsed = CloudEventEnvelope.safeParse(raw);
    if (!parsed.success) return { problems: issues(parsed.error, path) };
    const e = parsed.data;
    if (e.specversion === undefined && e.specVersion === undefined) {
      return {
        problems: [{ code: 'Required', target: path('specversion'), message: "A CloudEvent needs specversion '1.0'." }],
      };
    }
    const kind = BREAKER_TYPES.get(e.type.toLowerCase());
    if (kind === undefined) return { kind: 'ignored', id: e.id, type: e.type };
    if (e.time === undefined) return { problems: [{ code: 'Required', target: path('time'), message: 'Required.' }] };
    return breakerEvent({ ...e, kind, time: e.time, schema: 'cloudevents' }, path, 'source');
  }
  return {
    problems: [
      {
        code: 'Required',
        target: path('type'),
        message: "An event needs 'eventType' (Event Grid) or 'type' (CloudEvents).",
      },
    ],
  };
}

interface Envelope {
  id: string;
  kind: BreakerKind;
  type: string;
  source: string;
  subject?: string | undefined;
  time: string;
  data?: unknown;
  schema: BreakerEvent['schema'];
}

function breakerEvent(e: Envelope, path: (field: string) => string, sourceField: 'topic' | 'source'): ItemResult {
  const problems: ErrorDetail[] = [];
  const scopeId = parseResourceId(e.source);
  if (scopeId?.kind !== 'scope') {
    problems.push({
      code: 'InvalidFormat',
      target: path(sourceField),
      message: 'Must be the ARM id of an API Management service (or workspace).',
    });
  }
  const data = BreakerData.safeParse(e.data ?? {});
  if (!data.success)
    return { problems: [...problems, ...issues(data.error, (f) => path(f === '' ? 'data' : `data.${f}`))] };
  const subject = e.subject === undefined ? undefined : SUBJECT.exec(e.subject);
  if (e.subject !== undefined && subject === null) {
    problems.push({
      code: 'InvalidFormat',
      target: path('subject'),
      message: "Must be '/backends/{backendId}/circuit-breaker/rules/{ruleName}'.",
    });
  }
  const backendName = data.data.backendName ?? data.data.backendNme ?? (subject ? decode(subject[2]) : undefined);
  if (backendName === undefined) {
    problems.push({ code: 'Required', target: path('data.backendName'), message: 'The backend id is required.' });
  } else {
    const problem = segmentProblem('backendId', backendName);
    if (problem)
      problems.push({
        code: problem.code,
        target: path('data.backendName'),
        message: `The backend id ${problem.reason}.`,
      });
  }
  const rules = data.data.circuitBreaker?.rules ?? {};
  const rule = (subject ? decode(subject[3]) : undefined) ?? Object.keys(rules)[0];
  if (rule === undefined || rule.trim() === '' || rule.length > 256) {
    problems.push({
      code: 'Required',
      target: path('data.circuitBreaker.rules'),
      message: 'The rule name is required (in the subject or data.circuitBreaker.rules).',
    });
  }
  const rawTrip = rule === undefined ? undefined : rules[rule]?.tripDuration;
  const tripDuration = rawTrip === undefined ? undefined : timeSpanToIso(rawTrip);
  if (rawTrip !== undefined && tripDuration === undefined) {
    problems.push({
      code: 'InvalidFormat',
      target: path(`data.circuitBreaker.rules.${rule}.tripDuration`),
      message: "Must be a duration written 'hh:mm:ss' (or 'd.hh:mm:ss').",
    });
  }
  if (problems.length > 0 || scopeId?.kind !== 'scope' || backendName === undefined || rule === undefined) {
    return { problems };
  }
  const scope = { ...scopeId.scope };
  const workspace = subject?.[1] === undefined ? undefined : decode(subject[1]);
  if (workspace !== undefined && scope.workspaceId === undefined) scope.workspaceId = workspace;
  for (const [name, value] of Object.entries(scope) as Array<[keyof typeof scope, string | undefined]>) {
    const problem = value === undefined ? undefined : segmentProblem(name, value);
    if (problem)
      return {
        problems: [{ code: problem.code, target: path(sourceField), message: `The ${name} ${problem.reason}.` }],
      };
  }
  const backend: BackendTarget = { ...scope, backendId: backendName };
  const event: BreakerEvent = {
    id: e.id,
    kind: e.kind,
    type: e.type,
    schema: e.schema,
    backend,
    backendId: backendResourceId(backend),
    rule,
    eventTime: e.time,
  };
  if (tripDuration !== undefined) event.tripDuration = tripDuration;
  return { kind: 'breaker', event };
}

function decode(segment: string | undefined): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function issues(error: z.ZodError, path: (field: string) => string): ErrorDetail[] {
  return error.issues.map((issue) => ({
    code: issue.code === 'invalid_type' ? 'InvalidType' : 'InvalidValue',
    target: path(issue.path.map(String).join('.')),
    message: issue.message,
  }));
}
