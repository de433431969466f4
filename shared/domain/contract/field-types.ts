/**
 * Field types of the backend bodies that are more than a plain zod type: ISO 8601 durations, integers that ARM
 * templates write as strings, `modelAsString` enums read in any case, and absolute URLs. Messages never quote the
 * value (it may be a secret sent in the wrong place).
 */
import * as z from 'zod';

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
 * An integer in [min, max]: a JSON number, or a string of digits (normalised to a number). ARM templates write
 * integers as strings (`"priority": "1"`, Microsoft's backend documentation) and ARM accepts them. The input's type
 * is dispatched by hand rather than by a zod union, so a bad value gets this message instead of "invalid union".
 */
export function integer(min: number, max: number = Number.MAX_SAFE_INTEGER) {
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

/** A string of 1–max characters. */
export const text = (max: number) => z.string().min(1).max(max);

/**
 * A `modelAsString` enum: any spelling of a value is accepted (the service reads them case-insensitively; real
 * templates write `"pool"`, `"single"`, `"Cookie"`) and the canonical spelling is what is sent.
 */
export function caseInsensitiveEnum<const T extends readonly [string, ...string[]]>(values: T) {
  const byLower = new Map(values.map((v) => [v.toLowerCase(), v] as const));
  const list = values.map((v) => `'${v}'`).join(', ');
  return z
    .string()
    .transform((value, ctx): T[number] => {
      const canonical = byLower.get(value.toLowerCase());
      if (canonical !== undefined) return canonical;
      ctx.addIssue({
        code: 'custom',
        message: values.length === 1 ? `Must be ${list} (any case).` : `Must be one of: ${list} (any case).`,
        params: { code: 'InvalidValue' },
      });
      return z.NEVER;
    })
    .meta({ description: `One of ${values.join(', ')}; any case is accepted and the canonical spelling is sent` });
}

const WHITESPACE = /\s/;

/**
 * True when `value` is an absolute URL with a host, of one of the `schemes`: http, https, ws, wss. These are WHATWG
 * "special" schemes, whose parse fails on an empty host, so a successful parse means a host; `URL.canParse` answers
 * that without building the URL object (a property test compares it with `new URL(value).hostname !== ''`).
 */
function isUrlOf(value: string, schemes: readonly SpecialScheme[]): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined || !(schemes as readonly string[]).includes(scheme) || WHITESPACE.test(value)) return false;
  return URL.canParse(value);
}

/** The schemes `isUrlOf` accepts: special ones (not `file`, whose host may be empty). */
type SpecialScheme = 'http' | 'https' | 'ws' | 'wss';

/** True when `value` is an absolute http(s) URL with a host. */
export function isHttpUrl(value: string): boolean {
  return isUrlOf(value, ['http', 'https']);
}

/** A Service Fabric service address, `fabric:/application/service`. */
const FABRIC = /^fabric:\/[^/\s]\S*$/i;

/**
 * A string of 1–max characters that must also satisfy `valid`; one problem is reported per value (a value that is
 * too long is not also reported as malformed).
 */
function formatted(max: number, valid: (value: string) => boolean, message: string) {
  return z.string().superRefine((value, ctx) => {
    if (value.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'Must not be empty.', params: { code: 'TooShort' } });
    } else if (value.length > max) {
      ctx.addIssue({ code: 'custom', message: `Must be at most ${max} characters long.`, params: { code: 'TooLong' } });
    } else if (!valid(value)) {
      ctx.addIssue({ code: 'custom', message, params: { code: 'InvalidFormat' } });
    }
  });
}

/**
 * The backend's runtime `url`: an absolute URI, `http(s)://host/…` (`ws(s)://` for a WebSocket backend), or
 * `fabric:/app/service` for a Service Fabric backend. A template placeholder such as `[url]]/workflows/…` or a bare
 * host name is refused.
 */
export const backendUrl = formatted(
  2000,
  (value) => isUrlOf(value, ['http', 'https', 'ws', 'wss']) || FABRIC.test(value),
  'Must be an absolute URI: http(s)://host/… (ws(s):// for WebSocket) or, for a Service Fabric backend, ' +
    'fabric:/application/service.',
);

/**
 * `resourceId`: the management URL of the resource, an absolute http(s) URL. ARM refuses a bare ARM id with "Value
 * should represent absolute http URL" (terraform-provider-azurerm issue 21047).
 */
export const resourceUrl = formatted(
  2000,
  isHttpUrl,
  'Must be an absolute http(s) URL, e.g. https://management.azure.com/subscriptions/…; a bare ARM id is refused by ARM ("Value should represent absolute http URL").',
);

/** `proxy.url`: an absolute http(s) URL. */
export const proxyUrl = formatted(2000, isHttpUrl, 'Must be an absolute http(s) URL such as http://10.0.0.1:8080.');
