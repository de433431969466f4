import * as z from 'zod';
import { ErrorBodySchema } from './error-response';

/** Operations a change request can ask for. */
export const OperationSchema = z.enum(['createOrUpdate', 'update', 'reconnect', 'delete']);

/** One difference between the current and the desired state, in a dry-run plan. Secret values are redacted. */
export const PlannedChangeSchema = z.object({
  path: z.string().describe('Path in the ARM body, e.g. properties.url'),
  from: z.unknown().optional().describe('Current value; absent when the key does not exist yet'),
  to: z.unknown().optional().describe('Desired value; absent when the key would be removed'),
});

/** The dry-run plan: current state (redacted; null when the backend does not exist) and the changes. */
export const PlanSchema = z.object({
  current: z.unknown(),
  changes: z.array(PlannedChangeSchema),
});

/**
 * What every trigger returns or publishes for one change request.
 * `rejected` means nothing was sent to ARM; `failed` means ARM refused or stayed unavailable.
 */
export const OutcomeSchema = z.object({
  requestId: z.string(),
  operation: OperationSchema.optional().describe('Absent only when the request was too malformed to tell'),
  target: z.string().optional().describe("The backend's ARM id; absent only when the request named none validly"),
  apiVersion: z.string().optional().describe('The api-version the change was validated against and sent with'),
  status: z.enum(['succeeded', 'failed', 'rejected']),
  httpStatus: z.number().int().optional().describe("ARM's final HTTP status code"),
  created: z.boolean().optional().describe('createOrUpdate: true when ARM answered 201'),
  unchanged: z.boolean().optional().describe('true when the desired state was already in place and no write was sent'),
  dryRun: z.boolean().optional(),
  etag: z.string().optional().describe("ARM's ETag header as returned"),
  etagBefore: z.string().optional().describe("The backend's ETag before the change, when it was read first"),
  attempts: z.number().int().describe('Sends of the operation itself (PUT/PATCH/POST/DELETE), not ETag or state reads'),
  reads: z.number().int().optional().describe('Reads (HEAD/GET) made for ETags, state checks and plans'),
  durationMs: z.number(),
  backend: z.unknown().optional().describe('What ARM returned, secrets redacted'),
  plan: PlanSchema.optional(),
  error: ErrorBodySchema.optional(),
  retryAfterMs: z.number().int().optional().describe("ARM's last retry advice when the failure is transient"),
  armRequestId: z.string().optional().describe("ARM's x-ms-request-id"),
  armCorrelationRequestId: z.string().optional().describe("ARM's x-ms-correlation-request-id"),
  messageId: z
    .string()
    .optional()
    .describe('The queue message id, when it was not a valid requestId and the requestId was derived from it'),
});

export type Operation = z.infer<typeof OperationSchema>;
export type PlannedChange = z.infer<typeof PlannedChangeSchema>;
export type Plan = z.infer<typeof PlanSchema>;
export type Outcome = z.infer<typeof OutcomeSchema>;

/** Error codes of failures that may succeed later: queue triggers throw for redelivery, HTTP answers 429/503/504. */
export const TRANSIENT_ERROR_CODES: ReadonlySet<string> = new Set(['Throttled', 'UpstreamUnavailable', 'Timeout']);

/** True when the outcome failed for a reason that retrying later may cure. */
export function isTransientFailure(outcome: Outcome): boolean {
  return outcome.status === 'failed' && outcome.error !== undefined && TRANSIENT_ERROR_CODES.has(outcome.error.code);
}
