/**
 * Request bodies of the API Management backend operations (api-version 2024-05-01): PUT (createOrUpdate), PATCH
 * (update) and POST …/reconnect. The shapes follow the Swagger definitions (`BackendContractProperties`,
 * `BackendUpdateParameterProperties`, `BackendReconnectContract`) plus the service's documented behaviour.
 *
 * Choices made here:
 * - Every object is strict: ARM silently ignores unknown (mistyped) properties; we refuse them, with their path.
 *   Response-only fields (`id`, `name`, `type` at the top level) are not accepted in requests.
 * - `null` is refused everywhere. Responses carry `title/url/protocol: null` for pools, but a request that means
 *   "no url" leaves the key out, and PATCH merge semantics for null are not something ARM documents for backends.
 * - Integer fields accept JSON numbers and strings of digits (ARM templates write `"priority": "1"`, which ARM
 *   accepts); strings are normalised to numbers in the parsed output.
 * - Cross-field rules (single vs pool, duplicate pool members) run even when other fields fail, so one answer
 *   lists every problem. Such refinements see partially parsed values and therefore read them defensively.
 */
import { z } from 'zod';
import { parseBackendArmId, BackendArmIdSchema } from './safe-segment';
import { backendResourceId } from '../arm/resource-id';
import { isRecord } from '../is-record';

/** Refinement option: run even when sibling fields already failed (zod skips refinements on failed values otherwise). */
const ALWAYS = { when: () => true };

const ISO_DURATION = /^P(?!$)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$/;

/**
 * An ISO 8601 duration, `P[n]Y[n]M[n]W[n]DT[n]H[n]M[n]S`: at least one component, `T` only when a time component
 * follows, a fraction only on seconds (e.g. `PT30S`, `PT1.5S`, `P1DT2H`).
 */
export const isoDuration = z.string().superRefine((value, ctx) => {
  if (value.length > 64 || !ISO_DURATION.test(value)) {
    ctx.addIssue({
      code: 'custom',
      message: 'Must be an ISO 8601 duration such as PT30S or PT2M (P[n]Y[n]M[n]W[n]DT[n]H[n]M[n]S).',
      params: { code: 'InvalidFormat' },
    });
  }
});

const DIGITS = /^\d+$/;
const INTEGER_MESSAGE = 'Must be an integer (a number, or a string of digits).';

/**
 * An integer in [min, max]: a JSON number, or a string of digits (normalised to a number). The input's type is
 * dispatched by hand rather than by a zod union, so a bad value gets this message instead of "invalid union".
 */
function integer(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z
    .custom<number | string>()
    .transform((value, ctx): number => {
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && DIGITS.test(value)) return Number(value);
      ctx.addIssue({ code: 'custom', message: INTEGER_MESSAGE, params: { code: 'InvalidType' } });
      return z.NEVER;
    })
    .pipe(z.number().int().min(min).max(max));
}

const text = (max: number) => z.string().min(1).max(max);

const TlsSchema = z.strictObject({
  validateCertificateChain: z.boolean().optional(),
  validateCertificateName: z.boolean().optional(),
});

const ProxySchema = z.strictObject({
  url: text(2000),
  username: z.string().optional(),
  password: z.string().optional(),
});

const AuthorizationSchema = z.strictObject({
  scheme: text(100),
  parameter: text(300),
});

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * A header or query parameter name; header names must be HTTP tokens. (zod drops a `__proto__` key from a parsed
 * record before any check sees it; no real header or parameter has that name.)
 */
function parameterName(kind: 'header' | 'query') {
  return z.string().superRefine((name, ctx) => {
    const bad =
      name.length === 0 || (kind === 'header' && !HEADER_NAME.test(name))
        ? kind === 'header'
          ? "A header name must be a non-empty HTTP token (letters, digits and !#$%&'*+.^_`|~-)."
          : 'A query parameter name must be non-empty.'
        : undefined;
    if (bad !== undefined) ctx.addIssue({ code: 'custom', message: bad, params: { code: 'InvalidName' } });
  });
}

const CredentialsSchema = z.strictObject({
  certificateIds: z.array(z.string()).max(32).optional(),
  certificate: z.array(z.string()).max(32).optional(),
  // Header and query parameters: a name mapped to its values (values are secrets: never quoted in messages).
  query: z.record(parameterName('query'), z.array(z.string())).optional(),
  header: z.record(parameterName('header'), z.array(z.string())).optional(),
  authorization: AuthorizationSchema.optional(),
});

const StatusCodeRangeSchema = z
  .strictObject({
    min: integer(200, 599).optional(),
    max: integer(200, 599).optional(),
  })
  .superRefine((range, ctx) => {
    if (typeof range.min === 'number' && typeof range.max === 'number' && range.min > range.max) {
      ctx.addIssue({
        code: 'custom',
        message: "'min' must not be greater than 'max'.",
        params: { code: 'OutOfRange' },
      });
    }
  });

const FailureConditionSchema = z.strictObject({
  count: integer(0).optional(),
  percentage: integer(0, 100).optional(),
  interval: isoDuration.optional(),
  statusCodeRanges: z.array(StatusCodeRangeSchema).max(10).optional(),
  errorReasons: z.array(z.string().max(200)).max(10).optional(),
});

const CircuitBreakerRuleSchema = z.strictObject({
  name: z.string().optional(),
  failureCondition: FailureConditionSchema.optional(),
  tripDuration: isoDuration.optional(),
  acceptRetryAfter: z.boolean().optional(),
});

const CircuitBreakerSchema = z.strictObject({
  // The Swagger allows 15 rules; the service accepts one. Refuse more here rather than let ARM refuse later.
  rules: z
    .array(CircuitBreakerRuleSchema)
    .optional()
    .superRefine((rules, ctx) => {
      if (Array.isArray(rules) && rules.length > 1) {
        ctx.addIssue({
          code: 'custom',
          message: 'The service accepts only one circuit-breaker rule (the schema allows 15).',
          params: { code: 'TooManyItems' },
        });
      }
    }, ALWAYS),
});

const PoolItemSchema = z.strictObject({
  id: BackendArmIdSchema,
  weight: integer(0, 100).optional(),
  priority: integer(0, 100).optional(),
});

/** Refuses a backend listed twice in a pool (ARM ids compare case-insensitively). */
function refuseDuplicateMembers(services: unknown, ctx: z.core.$RefinementCtx): void {
  if (!Array.isArray(services)) return;
  const seen = new Map<string, number>();
  services.forEach((item: unknown, index) => {
    if (!isRecord(item) || typeof item.id !== 'string') return;
    const parsed = parseBackendArmId(item.id);
    if (!parsed.ok) return;
    const key = backendResourceId(parsed.target).toLowerCase();
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, index);
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: [index, 'id'],
      message: `This backend is already a member of the pool (services[${first}]).`,
      params: { code: 'Duplicate' },
    });
  });
}

const PoolSchema = z.strictObject({
  // 1 is the Swagger's minimum; 30 is the documented service limit.
  services: z.array(PoolItemSchema).min(1).max(30).superRefine(refuseDuplicateMembers, ALWAYS),
});

const X509NameSchema = z.strictObject({
  name: z.string().optional(),
  issuerCertificateThumbprint: z.string().optional(),
});

const ServiceFabricClusterSchema = z.strictObject({
  managementEndpoints: z.array(z.string().min(1)).min(1),
  clientCertificateId: z.string().optional(),
  clientCertificatethumbprint: z.string().optional(),
  maxPartitionResolutionRetries: integer(0, 2_147_483_647).optional(),
  serverCertificateThumbprints: z.array(z.string()).optional(),
  serverX509Names: z.array(X509NameSchema).optional(),
});

/** `properties.properties` (Swagger `BackendProperties`): settings specific to the backend kind. */
export const BackendPropertiesSchema = z.strictObject({
  serviceFabricCluster: ServiceFabricClusterSchema.optional(),
});

/** The `properties` of a PUT or PATCH body: one shape for both (the Swagger's two definitions are identical). */
const BackendContractPropertiesShape = z.strictObject({
  title: text(300).optional(),
  description: text(2000).optional(),
  resourceId: text(2000).optional(),
  url: text(2000).optional(),
  protocol: z.enum(['http', 'soap']).optional(),
  type: z.enum(['Single', 'Pool']).optional(),
  properties: BackendPropertiesSchema.optional(),
  credentials: CredentialsSchema.optional(),
  proxy: ProxySchema.optional(),
  tls: TlsSchema.optional(),
  circuitBreaker: CircuitBreakerSchema.optional(),
  pool: PoolSchema.optional(),
});

type Mode = 'createOrUpdate' | 'update';

function issue(ctx: z.core.$RefinementCtx, path: string, code: string, message: string): void {
  ctx.addIssue({ code: 'custom', path: [path], message, params: { code } });
}

/**
 * Single vs pool rules. A pool must not carry `url` or `protocol` (ARM's own messages) and, on PUT, needs `pool`.
 * On PUT a single backend (type absent or 'Single') needs `url` and `protocol` and must not carry `pool`. A PATCH is
 * partial: nothing is required, and rules apply only where the body itself says which type it is.
 */
function typeRules(mode: Mode) {
  return (props: unknown, ctx: z.core.$RefinementCtx): void => {
    if (!isRecord(props)) return;
    const type = props.type;
    const has = (key: string): boolean => props[key] !== undefined;
    if (type === 'Pool') {
      if (has('url')) issue(ctx, 'url', 'NotSupportedForPool', 'Url is not supported for backend pool.');
      if (has('protocol')) issue(ctx, 'protocol', 'NotSupportedForPool', 'Protocol is not supported for backend pool.');
      if (mode === 'createOrUpdate' && !has('pool')) {
        issue(ctx, 'pool', 'Required', "A backend pool needs 'pool.services'.");
      }
      return;
    }
    const single = type === 'Single' || (type === undefined && mode === 'createOrUpdate');
    if (!single) return;
    if (has('pool')) issue(ctx, 'pool', 'NotAllowed', "'pool' is only allowed when 'type' is 'Pool'.");
    if (mode === 'createOrUpdate') {
      if (!has('url')) issue(ctx, 'url', 'Required', "'url' should not be empty.");
      if (!has('protocol')) issue(ctx, 'protocol', 'Required', "'protocol' should not be empty.");
    }
  };
}

/** The PUT (createOrUpdate) body: `{ properties: BackendContractProperties }`. */
export const BackendBodySchema = z.strictObject({
  properties: BackendContractPropertiesShape.superRefine(typeRules('createOrUpdate'), ALWAYS),
});

/** The PATCH (update) body: `{ properties: BackendUpdateParameterProperties }`, every property optional. */
export const BackendPatchBodySchema = z.strictObject({
  properties: BackendContractPropertiesShape.superRefine(typeRules('update'), ALWAYS),
});

/**
 * The optional POST …/reconnect body, `{ properties?: { after?: duration } }`.
 * The reference says the minimum `after` is PT2M, yet its own example sends PT3S; we pass shorter values through
 * and let ARM decide rather than refuse what the official example does.
 */
export const ReconnectBodySchema = z.strictObject({
  properties: z.strictObject({ after: isoDuration.optional() }).optional(),
});

export type BackendBody = z.output<typeof BackendBodySchema>;
export type BackendBodyInput = z.input<typeof BackendBodySchema>;
export type BackendPatchBody = z.output<typeof BackendPatchBodySchema>;
export type BackendPatchBodyInput = z.input<typeof BackendPatchBodySchema>;
export type ReconnectBody = z.output<typeof ReconnectBodySchema>;
export type ReconnectBodyInput = z.input<typeof ReconnectBodySchema>;
/** The `properties` of a PUT or PATCH body, integers normalised. */
export type BackendContractProperties = z.output<typeof BackendContractPropertiesShape>;
/** `properties.properties`: kind-specific settings (Service Fabric). */
export type BackendProperties = z.output<typeof BackendPropertiesSchema>;
export type BackendPoolItem = z.output<typeof PoolItemSchema>;
export type CircuitBreakerRule = z.output<typeof CircuitBreakerRuleSchema>;
export type BackendCredentials = z.output<typeof CredentialsSchema>;
