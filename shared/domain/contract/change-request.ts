/**
 * The change request: what a caller asks the service to do to one API Management backend. The same JSON arrives as
 * an HTTP body and as a queue message body:
 *
 * ```json
 * { "requestId": "deploy-4711-orders", "operation": "createOrUpdate",
 *   "target": { "subscriptionId": "…", "resourceGroupName": "rg1", "serviceName": "apimService1",
 *               "workspaceId": "wks1", "backendId": "proxybackend" },
 *   "ifMatch": "*", "apiVersion": "2024-10-01-preview", "body": { "properties": { … } }, "dryRun": false }
 * ```
 *
 * `target` may also be the backend's ARM id as one string. `body` is the ARM request body exactly as the reference
 * documents it: required for createOrUpdate (PUT) and update (PATCH), optional for reconnect, absent for delete.
 * `apiVersion` (default: the `ARM_API_VERSION` setting) picks which backend fields are known; the change is sent
 * with it. Whether delete is allowed at all is the engine's decision, not the contract's.
 */
import * as z from 'zod';
import type { BackendTarget } from '../backend-id';
import { DEFAULT_API_VERSION, SUPPORTED_API_VERSIONS, supportedApiVersion, type ApiVersion } from './api-versions';
import { checkPoolMembers, checkResponseFields, checkVersionGates, refuseNulls, withoutNulls } from './body-rules';
import type { ErrorBody } from './error-response';
import { OperationSchema, type Operation } from './outcome';
import {
  parseBackendBody,
  parseBackendPatchBody,
  parseReconnectBody,
  type BackendBody,
  type BackendBodyInput,
  type ReconnectBody,
  type ReconnectBodyInput,
} from './backend-body';
import { BackendTargetSchema, justParsedTarget } from './safe-segment';
import { toValidationError } from './validation-error';
import { isRecord } from '../is-record';
import { compiledParse, type CompiledParse } from './compiled-parse';

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

/**
 * Any of the bodies; which one applies depends on `operation` and is checked by the request-level rules (a PATCH
 * body has the type of a PUT body: one factory builds both).
 */
type BodyInput = BackendBodyInput | ReconnectBodyInput;

/** Refinement option: run even when sibling fields already failed, so one answer lists every problem. */
const ALWAYS = { when: () => true };

/**
 * Which build of the schema: `answer` runs the request-level rules `ALWAYS`; `fast` is the variant zod compiles for
 * the fast path, the same rules as an ordinary refinement (see compiled-parse.ts).
 */
type Build = 'answer' | 'fast';

function addIssue(ctx: z.core.$RefinementCtx, path: PropertyKey[], code: string, message: string): void {
  ctx.addIssue({ code: 'custom', path, message, params: { code } });
}

/**
 * The body parsed by the request-level rules, kept for the transform that follows them in the same (synchronous)
 * parse of `request`, so a valid body is parsed once rather than twice.
 */
let parsedBody: { request: object; data: unknown } | undefined;

/** Validates `body` with the schema of `operation` and reports its issues under `body`. */
function checkBody(
  parse: (body: unknown) => z.ZodSafeParseResult<unknown>,
  body: unknown,
  ctx: z.core.$RefinementCtx,
  request: object,
): void {
  const result = parse(body);
  if (result.success) {
    parsedBody = { request, data: result.data };
    return;
  }
  for (const inner of result.error.issues) {
    // Re-raise the finalised issue as it is (its structure drives the detail code and message), moved under `body`.
    const moved = { ...inner, path: ['body', ...inner.path] };
    ctx.addIssue(moved);
  }
}

const SUPPORTED_LIST = SUPPORTED_API_VERSIONS.join(', ');

/** `OperationSchema.safeParse` with the compiled fast path (see compiled-parse.ts). */
const parseOperation = compiledParse(OperationSchema);

/** The api-version the request asks for (case-insensitive, as ARM reads it): one of the supported ones. */
const ApiVersionSchema = z.string().superRefine((value, ctx) => {
  if (supportedApiVersion(value) === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `Must be a supported api-version: ${SUPPORTED_LIST}.`,
      params: { code: 'UnsupportedApiVersion' },
    });
  }
});

/** The api-version a request is validated against and sent with; undefined when the one it names is unsupported. */
function requestApiVersion(request: Record<string, unknown>, fallback: ApiVersion): ApiVersion | undefined {
  const asked = request.apiVersion;
  if (asked === undefined) return fallback;
  return typeof asked === 'string' ? supportedApiVersion(asked) : undefined;
}

/**
 * The body as it is validated and sent: in a createOrUpdate `null` means absent (ARM templates write it so, and a
 * GET answer carries a pool's `title`/`url`/`protocol` as null); an update keeps its nulls, which are refused.
 */
function effectiveBody(operation: Operation, body: unknown): unknown {
  return operation === 'createOrUpdate' ? withoutNulls(body) : body;
}

/** Rules that relate fields to each other: the body each operation takes, pool members, versions, reconnect scope. */
function checkOperationRules(request: unknown, ctx: z.core.$RefinementCtx, fallback: ApiVersion): void {
  parsedBody = undefined;
  if (!isRecord(request)) return;
  const operation = parseOperation(request.operation);
  if (!operation.success) return; // reported at `operation`; without it the body cannot be judged
  const parsedTarget = justParsedTarget(request.target);
  const target =
    parsedTarget === undefined
      ? BackendTargetSchema.safeParse(request.target)
      : ({ success: true, data: parsedTarget } as const);
  const version = requestApiVersion(request, fallback);
  switch (operation.data) {
    case 'createOrUpdate':
    case 'update': {
      if (request.body === undefined || request.body === null) {
        addIssue(ctx, ['body'], 'Required', `'body' is required for ${operation.data}.`);
        return;
      }
      let body = effectiveBody(operation.data, request.body);
      if (operation.data === 'update') {
        // Each null is one problem, reported here; the schema then judges the rest without them.
        refuseNulls(body, ['body'], ctx);
        body = withoutNulls(body);
      }
      checkBody(operation.data === 'createOrUpdate' ? parseBackendBody : parseBackendPatchBody, body, ctx, request);
      if (target.success) checkResponseFields(target.data, body, ctx);
      checkPoolMembers(target.success ? target.data : undefined, body, ctx);
      if (version !== undefined) checkVersionGates(version, body, ctx);
      return;
    }
    case 'reconnect':
      if (target.success && target.data.workspaceId !== undefined) {
        addIssue(ctx, ['operation'], 'NotSupported', 'Reconnect is not available for workspace backends.');
      }
      if (request.body !== undefined) checkBody(parseReconnectBody, request.body, ctx, request);
      return;
    case 'delete':
      if (request.body !== undefined) addIssue(ctx, ['body'], 'NotAllowed', 'A delete request must not carry a body.');
      return;
  }
}

/**
 * A validated change request: target normalised to an object, integers in the body normalised to numbers.
 * `body` is a `BackendBody` for createOrUpdate and update (a PATCH body has the same type), an optional
 * `ReconnectBody` for reconnect, and absent for delete (the schema guarantees the pairing; the type stays flat for
 * simple switching).
 */
export interface ChangeRequest {
  requestId?: string;
  operation: Operation;
  target: BackendTarget;
  ifMatch?: string;
  /** The api-version the request was validated against and is sent with (always set by `parseChangeRequest`). */
  apiVersion?: ApiVersion;
  body?: BackendBody | ReconnectBody;
  dryRun: boolean;
}

/**
 * The change request schema, for requests without `apiVersion` taking `defaultApiVersion`. Input: the JSON as sent
 * (target as object or ARM id string). Output: `ChangeRequest`. Every problem is reported, with its path, in one
 * pass; unknown properties are refused everywhere.
 */
export function changeRequestSchema(defaultApiVersion: ApiVersion = DEFAULT_API_VERSION, build: Build = 'answer') {
  return z
    .strictObject({
      requestId: RequestIdSchema.optional(),
      operation: OperationSchema,
      target: BackendTargetSchema,
      ifMatch: IfMatchSchema.optional(),
      apiVersion: ApiVersionSchema.optional().describe(
        `The backend api-version to validate against and send with: ${SUPPORTED_LIST}. Default: ARM_API_VERSION.`,
      ),
      body: z.custom<BodyInput>().optional(),
      dryRun: z.boolean().optional(),
    })
    .superRefine(
      (request, ctx) => checkOperationRules(request, ctx, defaultApiVersion),
      build === 'answer' ? ALWAYS : undefined,
    )
    .transform((request, ctx): ChangeRequest => {
      // zod still runs a transform after issues that only name unknown keys; those requests are refused already.
      const known = parsedBody?.request === request ? parsedBody : undefined;
      parsedBody = undefined;
      if (ctx.issues.length > 0) return z.NEVER;
      return normalised(request, defaultApiVersion, known) ?? invalidBody(ctx);
    });
}

function invalidBody(ctx: z.core.$RefinementCtx): never {
  ctx.addIssue({ code: 'custom', path: ['body'], message: 'Invalid body.', params: { code: 'InvalidValue' } });
  return z.NEVER;
}

interface ValidRequest {
  requestId?: string | undefined;
  operation: Operation;
  target: BackendTarget;
  ifMatch?: string | undefined;
  apiVersion?: string | undefined;
  body?: unknown;
  dryRun?: boolean | undefined;
}

/** The normalised output of a request that passed every rule. */
function normalised(
  request: ValidRequest,
  defaultApiVersion: ApiVersion,
  known: { data: unknown } | undefined,
): ChangeRequest | undefined {
  // Built by assignment: a spread followed by added properties (`{ ...common, operation, body }`) takes V8's slow
  // path, microseconds per request.
  const out = { target: request.target, dryRun: request.dryRun ?? false } as ChangeRequest;
  if (request.requestId !== undefined) out.requestId = request.requestId;
  if (request.ifMatch !== undefined) out.ifMatch = request.ifMatch;
  out.apiVersion =
    (request.apiVersion === undefined ? undefined : supportedApiVersion(request.apiVersion)) ?? defaultApiVersion;
  // The bodies were validated (and their normalised output kept) by checkOperationRules.
  if (known !== undefined) return withBody(out, request.operation, known.data);
  switch (request.operation) {
    case 'createOrUpdate': {
      const body = parseBackendBody(effectiveBody('createOrUpdate', request.body));
      if (body.success) return withBody(out, 'createOrUpdate', body.data);
      break;
    }
    case 'update': {
      const body = parseBackendPatchBody(request.body);
      if (body.success) return withBody(out, 'update', body.data);
      break;
    }
    case 'reconnect': {
      if (request.body === undefined) return withBody(out, 'reconnect', undefined);
      const body = parseReconnectBody(request.body);
      if (body.success) return withBody(out, 'reconnect', body.data);
      break;
    }
    case 'delete':
      return withBody(out, 'delete', undefined);
  }
  return undefined;
}

/** `out` with its operation and body set (a function, not a closure per request). */
function withBody(out: ChangeRequest, operation: Operation, body: unknown): ChangeRequest {
  out.operation = operation;
  if (body !== undefined) (out as { body?: unknown }).body = body;
  return out;
}

/** The change request schema with the default api-version (2024-05-01); the JSON Schema is exported from it. */
export const ChangeRequestSchema = changeRequestSchema();

export type ChangeRequestInput = z.input<typeof ChangeRequestSchema>;

/** Options of {@link parseChangeRequest}. */
export interface ParseOptions {
  /** The api-version of a request that names none: the `ARM_API_VERSION` setting. Default 2024-05-01. */
  defaultApiVersion?: string | undefined;
}

const parsers = new Map<ApiVersion, CompiledParse<ChangeRequest>>([
  [DEFAULT_API_VERSION, compiledParse(ChangeRequestSchema, () => changeRequestSchema(DEFAULT_API_VERSION, 'fast'))],
]);

/** The parse of a change request for requests without `apiVersion` (compiled fast path, see compiled-parse.ts). */
export function changeRequestParser(defaultApiVersion: string | undefined): CompiledParse<ChangeRequest> {
  const version =
    (defaultApiVersion === undefined ? undefined : supportedApiVersion(defaultApiVersion)) ?? DEFAULT_API_VERSION;
  let parser = parsers.get(version);
  if (parser === undefined) {
    parser = compiledParse(changeRequestSchema(version), () => changeRequestSchema(version, 'fast'));
    parsers.set(version, parser);
  }
  return parser;
}

/**
 * Validates a change request (parsed JSON). Never throws for bad input: a refusal is a `ValidationError` body whose
 * details list every problem with its path, without echoing any value sent.
 */
export function parseChangeRequest(
  input: unknown,
  options: ParseOptions = {},
): { ok: true; request: ChangeRequest } | { ok: false; error: ErrorBody } {
  const result = changeRequestParser(options.defaultApiVersion)(input);
  if (result.success) return { ok: true, request: result.data };
  return { ok: false, error: toValidationError(result.error.issues, { input }) };
}
