/**
 * The change request: what a caller asks the service to do to one API Management backend. The same JSON arrives as
 * an HTTP body and as a queue message body:
 *
 * ```json
 * { "requestId": "deploy-4711-orders", "operation": "createOrUpdate",
 *   "target": { "subscriptionId": "…", "resourceGroupName": "rg1", "serviceName": "apimService1",
 *               "workspaceId": "wks1", "backendId": "proxybackend" },
 *   "ifMatch": "*", "body": { "properties": { … } }, "dryRun": false }
 * ```
 *
 * `target` may also be the backend's ARM id as one string. `body` is the ARM request body exactly as the reference
 * documents it: required for createOrUpdate (PUT) and update (PATCH), optional for reconnect, absent for delete.
 * Whether delete is allowed at all is the engine's decision, not the contract's.
 */
import { z } from 'zod';
import { sameScope, type BackendTarget } from '../arm/resource-id';
import type { ErrorBody } from './error-response';
import { OperationSchema, type Operation } from './outcome';
import {
  BackendBodySchema,
  BackendPatchBodySchema,
  ReconnectBodySchema,
  type BackendBody,
  type BackendBodyInput,
  type BackendPatchBody,
  type BackendPatchBodyInput,
  type ReconnectBody,
  type ReconnectBodyInput,
} from './backend-body';
import { BackendTargetSchema, parseBackendArmId } from './safe-segment';
import { toValidationError } from './validation-error';
import { isRecord } from '../is-record';

/** The shape of a requestId (also used for message ids, Idempotency-Key headers and status lookups). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** A caller's id for the request, echoed in the outcome: 1–128 of `A–Z a–z 0–9 . _ : -`. */
const RequestIdSchema = z.string().superRefine((value, ctx) => {
  if (!REQUEST_ID_PATTERN.test(value)) {
    ctx.addIssue({
      code: 'custom',
      message: "Must be 1–128 characters of letters, digits, '.', '_', ':' and '-'.",
      params: { code: 'InvalidFormat' },
    });
  }
});

// An ETag goes into the If-Match header: visible ASCII only, so no header splitting (CR/LF) or padding.
const ETAG = /^[\u0021-\u007e]{1,256}$/;

/** The If-Match value: `*` or an ETag as ARM returned it (e.g. `"AAAAAAAAAAa="`). */
const IfMatchSchema = z.string().superRefine((value, ctx) => {
  if (!ETAG.test(value)) {
    ctx.addIssue({
      code: 'custom',
      message: "Must be '*' or an ETag: 1–256 visible ASCII characters, no spaces.",
      params: { code: 'InvalidFormat' },
    });
  }
});

/** Any of the bodies; which one applies depends on `operation` and is checked by the request-level rules. */
type BodyInput = BackendBodyInput | BackendPatchBodyInput | ReconnectBodyInput;

/** Refinement option: run even when sibling fields already failed, so one answer lists every problem. */
const ALWAYS = { when: () => true };

function addIssue(ctx: z.core.$RefinementCtx, path: PropertyKey[], code: string, message: string): void {
  ctx.addIssue({ code: 'custom', path, message, params: { code } });
}

/** Validates `body` with the schema of `operation` and reports its issues under `body`. */
function checkBody(schema: z.ZodType, body: unknown, ctx: z.core.$RefinementCtx): void {
  const result = schema.safeParse(body);
  if (result.success) return;
  for (const inner of result.error.issues) {
    // Re-raise the finalised issue as it is (its structure drives the detail code and message), moved under `body`.
    const moved = { ...inner, path: ['body', ...inner.path] };
    ctx.addIssue(moved);
  }
}

/**
 * Pool members must be backends of the target's own service and workspace, and not the target itself.
 * Reads the raw body defensively: it runs even when other parts of the body failed.
 */
function checkPoolMembers(target: BackendTarget, body: unknown, ctx: z.core.$RefinementCtx): void {
  const properties = isRecord(body) ? body.properties : undefined;
  const pool = isRecord(properties) ? properties.pool : undefined;
  const services = isRecord(pool) ? pool.services : undefined;
  if (!Array.isArray(services)) return;
  services.forEach((item: unknown, index) => {
    if (!isRecord(item) || typeof item.id !== 'string') return;
    const member = parseBackendArmId(item.id);
    if (!member.ok) return;
    const path = ['body', 'properties', 'pool', 'services', index, 'id'];
    if (!sameScope(member.target, target)) {
      const scope = target.workspaceId === undefined ? 'service (not a workspace)' : 'service and workspace';
      addIssue(ctx, path, 'OutOfScope', `A pool member must be a backend in the same ${scope} as the pool.`);
    } else if (member.target.backendId.toLowerCase() === target.backendId.toLowerCase()) {
      addIssue(ctx, path, 'SelfReference', 'A pool cannot contain itself.');
    }
  });
}

/** Rules that relate fields to each other: the body each operation takes, pool scope, reconnect scope. */
function checkOperationRules(request: unknown, ctx: z.core.$RefinementCtx): void {
  if (!isRecord(request)) return;
  const operation = OperationSchema.safeParse(request.operation);
  if (!operation.success) return; // reported at `operation`; without it the body cannot be judged
  const body = request.body;
  const target = BackendTargetSchema.safeParse(request.target);
  switch (operation.data) {
    case 'createOrUpdate':
    case 'update':
      if (body === undefined) {
        addIssue(ctx, ['body'], 'Required', `'body' is required for ${operation.data}.`);
        return;
      }
      checkBody(operation.data === 'createOrUpdate' ? BackendBodySchema : BackendPatchBodySchema, body, ctx);
      if (target.success) checkPoolMembers(target.data, body, ctx);
      return;
    case 'reconnect':
      if (target.success && target.data.workspaceId !== undefined) {
        addIssue(ctx, ['operation'], 'NotSupported', 'Reconnect is not available for workspace backends.');
      }
      if (body !== undefined) checkBody(ReconnectBodySchema, body, ctx);
      return;
    case 'delete':
      if (body !== undefined) addIssue(ctx, ['body'], 'NotAllowed', 'A delete request must not carry a body.');
      return;
  }
}

/**
 * A validated change request: target normalised to an object, integers in the body normalised to numbers.
 * `body` is a `BackendBody` for createOrUpdate, a `BackendPatchBody` for update, an optional `ReconnectBody` for
 * reconnect, and absent for delete (the schema guarantees the pairing; the type stays flat for simple switching).
 */
export interface ChangeRequest {
  requestId?: string;
  operation: Operation;
  target: BackendTarget;
  ifMatch?: string;
  body?: BackendBody | BackendPatchBody | ReconnectBody;
  dryRun: boolean;
}

/**
 * The change request schema. Input: the JSON as sent (target as object or ARM id string). Output: `ChangeRequest`.
 * Every problem is reported, with its path, in one pass; unknown properties are refused everywhere.
 */
export const ChangeRequestSchema = z
  .strictObject({
    requestId: RequestIdSchema.optional(),
    operation: OperationSchema,
    target: BackendTargetSchema,
    ifMatch: IfMatchSchema.optional(),
    body: z.custom<BodyInput>().optional(),
    dryRun: z.boolean().optional(),
  })
  .superRefine(checkOperationRules, ALWAYS)
  .transform((request, ctx): ChangeRequest => {
    // zod still runs a transform after issues that only name unknown keys; those requests are refused already.
    if (ctx.issues.length > 0) return z.NEVER;
    // Built by assignment: a spread followed by added properties (`{ ...common, operation, body }`) takes V8's slow
    // path, microseconds per request.
    const out = { target: request.target, dryRun: request.dryRun ?? false } as ChangeRequest;
    if (request.requestId !== undefined) out.requestId = request.requestId;
    if (request.ifMatch !== undefined) out.ifMatch = request.ifMatch;
    const withBody = (operation: ChangeRequest['operation'], body?: unknown): ChangeRequest => {
      (out as { operation: string }).operation = operation;
      if (body !== undefined) (out as { body?: unknown }).body = body;
      return out;
    };
    // The bodies were validated by checkOperationRules; parse again here for the normalised output.
    switch (request.operation) {
      case 'createOrUpdate': {
        const body = BackendBodySchema.safeParse(request.body);
        if (body.success) return withBody('createOrUpdate', body.data);
        break;
      }
      case 'update': {
        const body = BackendPatchBodySchema.safeParse(request.body);
        if (body.success) return withBody('update', body.data);
        break;
      }
      case 'reconnect': {
        if (request.body === undefined) return withBody('reconnect');
        const body = ReconnectBodySchema.safeParse(request.body);
        if (body.success) return withBody('reconnect', body.data);
        break;
      }
      case 'delete':
        return withBody('delete');
    }
    ctx.addIssue({ code: 'custom', path: ['body'], message: 'Invalid body.', params: { code: 'InvalidValue' } });
    return z.NEVER;
  });

export type ChangeRequestInput = z.input<typeof ChangeRequestSchema>;

/**
 * Validates a change request (parsed JSON). Never throws for bad input: a refusal is a `ValidationError` body whose
 * details list every problem with its path, without echoing any value sent.
 */
export function parseChangeRequest(
  input: unknown,
): { ok: true; request: ChangeRequest } | { ok: false; error: ErrorBody } {
  const result = ChangeRequestSchema.safeParse(input);
  if (result.success) return { ok: true, request: result.data };
  return { ok: false, error: toValidationError(result.error.issues, { input }) };
}
