/**
 * The change set: several backend changes in one request, validated together, applied in dependency order and
 * optionally undone on failure. The same JSON arrives as an HTTP body and as a queue message body:
 *
 * ```json
 * { "requestId": "rollout-42", "atomic": true, "dryRun": false,
 *   "changes": [ { "operation": "createOrUpdate", "target": "…/backends/pool", "body": { … } }, … ] }
 * ```
 *
 * Each change is today's change request without `requestId` and `dryRun` (those belong to the set). Item `i` of set
 * `R` is known as `R/i`: a `/` never appears in a caller's requestId, so an item id cannot collide with one.
 */
import * as z from 'zod';
import { changeRequestParser, REQUEST_ID_PATTERN, type ChangeRequest } from './change-request';
import type { ErrorBody } from './error-response';
import { ErrorBodySchema } from './error-response';
import { OutcomeSchema } from './outcome';
import { toValidationError } from './validation-error';
import { isRecord } from '../is-record';

/** The ledger's `operation` of a change set's own record (its items' records carry their own operation). */
export const CHANGE_SET_OPERATION = 'changeSet';

/** The most changes one set may hold. */
export const MAX_SET_CHANGES = 50;

/** The shape of an item's requestId: the set's requestId, `/`, the item's index in the request. */
export const ITEM_REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}\/\d{1,2}$/;

/** The requestId of item `index` of set `setRequestId`. */
export function itemRequestId(setRequestId: string, index: number): string {
  return `${setRequestId}/${index}`;
}

/** True when raw input is meant as a set: a JSON object with `changes`. Anything else is a single change. */
export function isChangeSetInput(raw: unknown): raw is Record<string, unknown> {
  return isRecord(raw) && Object.hasOwn(raw, 'changes');
}

const SET_LEVEL_FIELDS = ['requestId', 'dryRun'] as const;

/** One change of a set: today's change request, whose rules all apply, without its own requestId or dryRun. */
const ChangeSetItemSchema = z.custom<Record<string, unknown>>().transform((item, ctx): ChangeRequest => {
  if (!isRecord(item)) {
    ctx.addIssue({ code: 'custom', message: 'Must be a change request object.', params: { code: 'InvalidType' } });
    return z.NEVER;
  }
  for (const field of SET_LEVEL_FIELDS) {
    if (Object.hasOwn(item, field)) {
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: `'${field}' belongs to the set, not to one of its changes.`,
        params: { code: 'NotAllowed' },
      });
    }
  }
  const rest = Object.fromEntries(
    Object.entries(item).filter(([key]) => !(SET_LEVEL_FIELDS as readonly string[]).includes(key)),
  );
  // The compiled fast path (see compiled-parse.ts); a refusal is the runtime schema's.
  const parsed = changeRequestParser(undefined)(rest);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue });
    return z.NEVER;
  }
  return parsed.data;
});

const SetRequestIdSchema = z.string().superRefine((value, ctx) => {
  if (!REQUEST_ID_PATTERN.test(value)) {
    ctx.addIssue({
      code: 'custom',
      message: "Must be 1–128 characters of letters, digits, '.', '_', ':' and '-'.",
      params: { code: 'InvalidFormat' },
    });
  }
});

/** A validated change set. Items carry no requestId yet: the set's is assigned by the trigger. */
export interface ChangeSet {
  requestId?: string;
  changes: ChangeRequest[];
  dryRun: boolean;
  atomic: boolean;
}

/** The change set schema. Input: the JSON as sent; output: `ChangeSet`. Every problem is reported with its path. */
export const ChangeSetSchema = z
  .strictObject({
    requestId: SetRequestIdSchema.optional(),
    changes: z
      .array(ChangeSetItemSchema)
      .min(1)
      .max(MAX_SET_CHANGES)
      .describe(`1–${MAX_SET_CHANGES} changes, each a change request without requestId and dryRun`),
    dryRun: z.boolean().optional().describe('Validate, read, and return the ordered plan of every change'),
    atomic: z.boolean().optional().describe('On a failure, undo the changes already applied, in reverse order'),
  })
  .transform((set): ChangeSet => {
    const out: ChangeSet = { changes: set.changes, dryRun: set.dryRun ?? false, atomic: set.atomic ?? false };
    if (set.requestId !== undefined) out.requestId = set.requestId;
    return out;
  });

export type ChangeSetInput = z.input<typeof ChangeSetSchema>;

/** Validates a change set (parsed JSON). Never throws for bad input; problems are named `changes[2].body.…`. */
export function parseChangeSet(
  input: unknown,
  options: { defaultApiVersion?: string | undefined } = {},
): { ok: true; set: ChangeSet } | { ok: false; error: ErrorBody } {
  const result = ChangeSetSchema.safeParse(withDefaultApiVersion(input, options.defaultApiVersion));
  if (result.success) return { ok: true, set: result.data };
  return { ok: false, error: toValidationError(result.error.issues, { input, subject: 'change set' }) };
}

/** What became of an applied change when the set was undone. */
export const UndoSchema = z.object({
  status: z
    .enum(['undone', 'notUndone', 'notNeeded'])
    .describe('undone: put back as it was; notUndone: could not be (see error); notNeeded: nothing to put back'),
  httpStatus: z.number().int().optional(),
  error: ErrorBodySchema.optional(),
});

/** The outcome of one change of a set: a change outcome with its index, plus `skipped` and the undo. */
export const SetItemOutcomeSchema = OutcomeSchema.extend({
  index: z.number().int().describe("The change's position in the request"),
  status: z
    .enum(['succeeded', 'failed', 'rejected', 'skipped'])
    .describe('skipped: not attempted, because an earlier change in the order failed or the set was refused'),
  undo: UndoSchema.optional().describe('atomic sets: what the undo did to this applied change'),
});

/**
 * The outcome of a set. `succeeded`: every change applied; `rejected`: refused before anything was written;
 * `failed`: a change failed and (not atomic, or an undo could not be done) what was applied stays;
 * `rolledBack`: atomic, a change failed and every applied change was undone.
 */
export const SetOutcomeSchema = z.object({
  requestId: z.string(),
  status: z.enum(['succeeded', 'failed', 'rejected', 'rolledBack']),
  atomic: z.boolean(),
  dryRun: z.boolean().optional(),
  order: z.array(z.number().int()).describe('The indexes of the changes in the order they were (or would be) applied'),
  items: z.array(SetItemOutcomeSchema).describe('One outcome per change, in request order'),
  error: ErrorBodySchema.optional().describe('Why the set was refused or stopped, when not one change alone says it'),
  retryAfterMs: z.number().int().optional(),
  durationMs: z.number(),
});

export type Undo = z.infer<typeof UndoSchema>;
export type SetItemOutcome = z.infer<typeof SetItemOutcomeSchema>;
export type SetOutcome = z.infer<typeof SetOutcomeSchema>;
export type SetStatus = SetOutcome['status'];

/** True for a set outcome (as opposed to a single change's outcome). */
export function isSetOutcome(value: unknown): value is SetOutcome {
  return isRecord(value) && Array.isArray(value.items) && Array.isArray(value.order);
}

/**
 * The set with `defaultApiVersion` (ARM_API_VERSION) given to every change that names no `apiVersion`, so each change
 * of a set is validated and sent exactly as the same change sent alone would be. The input is not modified.
 */
function withDefaultApiVersion(input: unknown, defaultApiVersion: string | undefined): unknown {
  if (defaultApiVersion === undefined || !isRecord(input) || !Array.isArray(input.changes)) return input;
  const changes: unknown[] = input.changes.map((change: unknown) =>
    isRecord(change) && !Object.hasOwn(change, 'apiVersion') ? { ...change, apiVersion: defaultApiVersion } : change,
  );
  return { ...input, changes };
}
