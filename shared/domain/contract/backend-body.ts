/**
 * Request bodies of the API Management backend operations: PUT (createOrUpdate), PATCH (update) and POST
 * …/reconnect. The shapes follow the Swagger definitions (`BackendContractProperties`,
 * `BackendUpdateParameterProperties`, `BackendReconnectContract`) of every supported api-version plus the service's
 * documented behaviour. One schema holds the fields of every version; which version has which field is checked
 * against the request's `apiVersion` (see api-versions.ts).
 *
 * Choices made here:
 * - Every object is strict: ARM silently ignores unknown (mistyped) properties; we refuse them, with their path.
 * - A GET answer can be sent back: top-level `id`, `name` and `type` are accepted (the request checks that they agree
 *   with the target) and are not sent. `null` is handled by the request (absent in a createOrUpdate, refused in an
 *   update) before these schemas see the body.
 * - Integer fields accept JSON numbers and strings of digits (ARM templates write `"priority": "1"`, which ARM
 *   accepts); strings are normalised to numbers in the parsed output.
 * - `modelAsString` enums accept any case and are sent in their canonical spelling.
 * - Cross-field rules (single vs pool) run even when other fields fail, so one answer lists every problem. Such
 *   refinements see partially parsed values and therefore read them defensively. Pool member rules need the target
 *   (relative ids resolve against it) and live in the request.
 */
import * as z from 'zod';
import { PoolMemberIdSchema } from './pool-member';
import { backendUrl, caseInsensitiveEnum, integer, isoDuration, proxyUrl, resourceUrl, text } from './field-types';
import { isRecord } from '../is-record';
import { compiledParse } from './compiled-parse';

export { isoDuration } from './field-types';

/** Refinement option: run even when sibling fields already failed (zod skips refinements on failed values otherwise). */
const ALWAYS = { when: () => true };

const X509NameSchema = z.strictObject({
  name: z.string().optional(),
  issuerCertificateThumbprint: z.string().optional(),
});

const TlsSchema = z.strictObject({
  validateCertificateChain: z.boolean().optional(),
  validateCertificateName: z.boolean().optional(),
  // From 2025-03-01-preview.
  serverCertificateThumbprints: z.array(z.string()).optional(),
  serverX509Names: z.array(X509NameSchema).optional(),
});

const ProxySchema = z.strictObject({
  url: proxyUrl,
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

/**
 * `credentials.managedIdentity`: in no Swagger from 2024-05-01 on, but honoured by the service at every version
 * (azure-rest-api-specs issue 32665; PR 29512 added it to 2023-09-01-preview with these limits). Not secret: an
 * application id and a client id.
 */
const ManagedIdentitySchema = z.strictObject({
  resource: text(300),
  clientId: text(300).optional(),
});

const CredentialsSchema = z.strictObject({
  certificateIds: z.array(z.string()).max(32).optional(),
  certificate: z.array(z.string()).max(32).optional(),
  // Header and query parameters: a name mapped to its values (values are secrets: never quoted in messages).
  query: z.record(parameterName('query'), z.array(z.string())).optional(),
  header: z.record(parameterName('header'), z.array(z.string())).optional(),
  authorization: AuthorizationSchema.optional(),
  managedIdentity: ManagedIdentitySchema.optional(),
});

/** `BackendFailureResponse` (from 2024-10-01-preview): the status returned instead of calling the backend. */
const FailureResponseSchema = z.strictObject({
  statusCode: integer(100, 599).optional(),
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

// errorReasons items: ≤ 200 characters up to 2024-10-01-preview; the generated 2025+ files dropped the limit and
// we keep it: the drop came with the TypeSpec conversion, not with a documented change of the service.
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
  failureResponse: FailureResponseSchema.optional(),
});

/**
 * When a cross-field refinement runs: `ALWAYS` in the schemas that answer (even when sibling fields failed, so one
 * answer lists every problem); `undefined` in the variant zod compiles for the fast path (see compiled-parse.ts).
 */
type RefineWhen = typeof ALWAYS | undefined;

function circuitBreakerSchema(when: RefineWhen) {
  return z.strictObject({
    // The Swagger allows 15 rules (no limit from 2025-03-01-preview); the service accepts one. Refuse more here.
    rules: z
      .array(CircuitBreakerRuleSchema)
      .optional()
      .superRefine((rules, ctx) => {
        if (Array.isArray(rules) && rules.length > 1) {
          ctx.addIssue({
            code: 'custom',
            message:
              'The service accepts only one circuit-breaker rule (the 2024 schemas allow 15, later ones set no limit).',
            params: { code: 'TooManyItems' },
          });
        }
      }, when),
  });
}

const PoolItemSchema = z.strictObject({
  // Full ARM id or `/backends/{id}`; scope, self-reference and repeats are checked by the request (needs the target).
  id: PoolMemberIdSchema,
  weight: integer(0, 100).optional(),
  priority: integer(0, 100).optional(),
  // From 2025-03-01-preview.
  preferredCarbonEmission: caseInsensitiveEnum(['VeryLow', 'Low', 'Medium', 'High', 'VeryHigh']).optional(),
});

const SessionAffinitySchema = z.strictObject({
  sessionId: z
    .strictObject({
      source: caseInsensitiveEnum(['cookie']).optional(),
      name: z.string().optional(),
    })
    .optional(),
});

const PoolSchema = z.strictObject({
  // 1 is the Swagger's minimum; 30 is the documented service limit.
  services: z.array(PoolItemSchema).min(1).max(30),
  // From 2024-10-01-preview.
  failureResponse: FailureResponseSchema.optional(),
  sessionAffinity: SessionAffinitySchema.optional(),
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
function propertiesShape(when: RefineWhen) {
  return z.strictObject({
    title: text(300).optional(),
    description: text(2000).optional(),
    resourceId: resourceUrl.optional(),
    url: backendUrl.optional(),
    protocol: caseInsensitiveEnum(['http', 'soap']).optional(),
    type: caseInsensitiveEnum(['Single', 'Pool']).optional(),
    // From 2025-03-01-preview.
    azureRegion: z.string().optional(),
    properties: BackendPropertiesSchema.optional(),
    credentials: CredentialsSchema.optional(),
    proxy: ProxySchema.optional(),
    tls: TlsSchema.optional(),
    circuitBreaker: circuitBreakerSchema(when).optional(),
    pool: PoolSchema.optional(),
  });
}

const BackendContractPropertiesShape = propertiesShape(ALWAYS);

type Mode = 'createOrUpdate' | 'update';

/** Whether `props` holds a value at `key` (neither absent nor null). */
function has(props: Record<string, unknown>, key: string): boolean {
  return props[key] !== undefined && props[key] !== null;
}

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
    // Read before or after the enum's normalisation (the refinement also runs when some field failed).
    const type = typeof props.type === 'string' ? props.type.toLowerCase() : props.type;
    if (type === 'pool') {
      if (has(props, 'url')) issue(ctx, 'url', 'NotSupportedForPool', 'Url is not supported for backend pool.');
      if (has(props, 'protocol'))
        issue(ctx, 'protocol', 'NotSupportedForPool', 'Protocol is not supported for backend pool.');
      if (mode === 'createOrUpdate' && !has(props, 'pool')) {
        issue(ctx, 'pool', 'Required', "A backend pool needs 'pool.services'.");
      }
      return;
    }
    const single = type === 'single' || (type === undefined && mode === 'createOrUpdate');
    if (!single) return;
    if (has(props, 'pool')) issue(ctx, 'pool', 'NotAllowed', "'pool' is only allowed when 'type' is 'Pool'.");
    if (mode === 'createOrUpdate') {
      if (!has(props, 'url')) issue(ctx, 'url', 'Required', "'url' should not be empty.");
      if (!has(props, 'protocol')) issue(ctx, 'protocol', 'Required', "'protocol' should not be empty.");
    }
  };
}

/**
 * Top-level fields of a GET answer: accepted so a GET → edit → PUT works, checked against the target by the request,
 * and never sent.
 */
const responseFields = {
  id: z.string().optional().describe("The backend's ARM id, as a GET answers it; must name the target; not sent"),
  name: z.string().optional().describe("The backend's id, as a GET answers it; must name the target; not sent"),
  type: z
    .string()
    .optional()
    .describe('Microsoft.ApiManagement/service[/workspaces]/backends, as a GET answers it; must match; not sent'),
};

/** A PUT or PATCH body: `{ properties }` (top-level GET-answer fields accepted, not sent). */
function bodySchema(mode: Mode, properties: ReturnType<typeof propertiesShape>, when: RefineWhen) {
  return z
    .strictObject({
      ...responseFields,
      properties: properties.superRefine(typeRules(mode), when),
    })
    .transform(({ properties }) => ({ properties }));
}

/** The PUT (createOrUpdate) body: `{ properties: BackendContractProperties }`. */
export const BackendBodySchema = bodySchema('createOrUpdate', BackendContractPropertiesShape, ALWAYS);

/** The PATCH (update) body: `{ properties: BackendUpdateParameterProperties }`, every property optional. */
export const BackendPatchBodySchema = bodySchema('update', BackendContractPropertiesShape, ALWAYS);

/**
 * The optional POST …/reconnect body, `{ properties?: { after?: duration } }`.
 * The reference says the minimum `after` is PT2M, yet its own example sends PT3S; we pass shorter values through
 * and let ARM decide rather than refuse what the official example does.
 */
export const ReconnectBodySchema = z.strictObject({
  properties: z.strictObject({ after: isoDuration.optional() }).optional(),
});

/** The parses of the bodies, with zod's compiled fast path (see compiled-parse.ts); their answers are the schemas'. */
export const parseBackendBody = compiledParse(BackendBodySchema, () =>
  bodySchema('createOrUpdate', propertiesShape(undefined), undefined),
);
export const parseBackendPatchBody = compiledParse(BackendPatchBodySchema, () =>
  bodySchema('update', propertiesShape(undefined), undefined),
);
export const parseReconnectBody = compiledParse(ReconnectBodySchema);

export type BackendBody = z.output<typeof BackendBodySchema>;
export type BackendBodyInput = z.input<typeof BackendBodySchema>;
export type ReconnectBody = z.output<typeof ReconnectBodySchema>;
export type ReconnectBodyInput = z.input<typeof ReconnectBodySchema>;
/** The `properties` of a PUT or PATCH body, integers normalised. */
export type BackendContractProperties = z.output<typeof BackendContractPropertiesShape>;
/** `properties.properties`: kind-specific settings (Service Fabric). */
export type BackendProperties = z.output<typeof BackendPropertiesSchema>;
export type BackendPoolItem = z.output<typeof PoolItemSchema>;
export type CircuitBreakerRule = z.output<typeof CircuitBreakerRuleSchema>;
export type BackendCredentials = z.output<typeof CredentialsSchema>;
