/**
 * Secret redaction: the one function every outward representation (outcomes, events, logs, errors, stored
 * records) goes through. Secret-bearing fields of a backend are `credentials.authorization.parameter`, every value
 * of `credentials.header` and `credentials.query`, and `proxy.password`, wherever a backend body appears (a request
 * body, an ARM response, a plan); and the userinfo of any URL (`https://user:password@host` in `url`, `proxy.url`
 * or a message quoting them).
 */
import { secretForms, scrubText, type SecretForms } from './secret-forms';

/** What a redacted secret is replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * Where a walk stands with respect to secrets, key by key (see {@link secretStep}): what {@link isSecretPath} decides
 * for a whole path, carried down a walk as one small integer instead of a path array scanned at every value.
 */
export type SecretState = 0 | 1 | 2 | 3 | 4 | 5;
/** No secret-bearing key sequence seen, and the last key starts none. */
export const OUTSIDE: SecretState = 0;
/** Just below `credentials`. */
const IN_CREDENTIALS: SecretState = 1;
/** Just below `credentials.authorization`. */
const IN_AUTHORIZATION: SecretState = 2;
/** Just below `proxy`. */
const IN_PROXY: SecretState = 3;
/** `credentials.header` or `credentials.query` itself: not a secret, everything below it is. */
const IN_HEADERS: SecretState = 4;
/** A value here (and below) is a secret. */
export const SECRET: SecretState = 5;

/**
 * The state one key further down. The first secret-bearing sequence on a path decides for everything below it,
 * exactly as {@link isSecretPath} scans a path from its root (test/property/secret-state.property.test.ts).
 */
export function secretStep(state: SecretState, key: string): SecretState {
  if (state >= IN_HEADERS) return SECRET;
  if (state === IN_CREDENTIALS) {
    if (key === 'header' || key === 'query') return IN_HEADERS;
    if (key === 'authorization') return IN_AUTHORIZATION;
  } else if (state === IN_AUTHORIZATION) {
    if (key === 'parameter') return SECRET;
  } else if (state === IN_PROXY) {
    if (key === 'password') return SECRET;
  }
  if (key === 'credentials') return IN_CREDENTIALS;
  return key === 'proxy' ? IN_PROXY : OUTSIDE;
}

/** The state at the end of `path` (from any root). */
export function secretStateOf(path: readonly string[]): SecretState {
  let state = OUTSIDE;
  for (let i = 0; i < path.length; i++) state = secretStep(state, path[i]!);
  return state;
}

/** True when a value at this key path (from any root) holds a secret. */
export function isSecretPath(path: readonly string[]): boolean {
  return secretStateOf(path) === SECRET;
}

/**
 * Returns a deep copy of `value` with every secret replaced by {@link REDACTED}. `basePath` is where `value` sits
 * (e.g. `['properties', 'proxy']` for a plan entry), so fragments are redacted as surely as whole bodies.
 */
export function redactSecrets<T>(value: T, basePath: readonly string[] = []): T {
  return walk(value, secretStateOf(basePath)) as T;
}

/**
 * The redacted copy of `value` at `state`; with `scrubbing`, each string it leaves is scrubbed too — the same value as
 * `scrubItem(walk(value, state))`, in one copy. (A `__proto__` key is assigned as any other, which sets the copy's
 * prototype rather than adding a key; its value is not scrubbed, as the scrub, which only sees own keys, leaves it.)
 */
function walk(value: unknown, state: SecretState, scrubbing?: Scrubbing): unknown {
  if (value === null || value === undefined) return value;
  if (Array.isArray(value)) {
    // Array indices do not change whether a value is secret: keep the state of the array itself.
    const copy: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = walk(value[i], state, scrubbing);
    return copy;
  }
  if (typeof value === 'object') {
    // Keys and lookups rather than Object.entries: no [key, value] pair array per object.
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const keys = Object.keys(source);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      out[key] = walk(source[key], secretStep(state, key), key === '__proto__' ? undefined : scrubbing);
    }
    return out;
  }
  if (state === SECRET) return scrubbing === undefined ? REDACTED : scrubString(REDACTED, scrubbing);
  if (typeof value !== 'string') return value;
  const text = redactUrlUserinfo(value);
  return scrubbing === undefined ? text : scrubString(text, scrubbing);
}

/** `scheme://user:password@` or `scheme://token@`: the userinfo of a URL, wherever it appears in a string. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@]*)@/gi;

/** The text with every URL's password (or, without a `:`, its whole userinfo, often a token) redacted. */
export function redactUrlUserinfo(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(URL_USERINFO, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon === -1 ? `${scheme}${REDACTED}@` : `${scheme}${userinfo.slice(0, colon)}:${REDACTED}@`;
  });
}

/** The secrets in URLs' userinfo: the password (raw and decoded), `user:password`, or a lone token. */
function urlSecrets(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(URL_USERINFO)) {
    const userinfo = match[2] ?? '';
    if (userinfo === '') continue;
    const colon = userinfo.indexOf(':');
    const secret = colon === -1 ? userinfo : userinfo.slice(colon + 1);
    found.push(secret, userinfo, safeDecode(secret), safeDecode(userinfo));
  }
  return found.filter((s) => s.length > 0);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Splits a plan path such as `properties.pool.services[0].weight` or `properties.credentials.header["x-key"]`
 * into keys, dropping array indices (they do not change whether a value is secret).
 */
export function splitPath(path: string): string[] {
  const keys: string[] = [];
  const token = /\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  let match: RegExpExecArray | null;
  while ((match = token.exec(path)) !== null) {
    if (match[1] !== undefined) keys.push(match[1]);
    else if (match[3] !== undefined) keys.push(JSON.parse(match[3]) as string);
  }
  return keys;
}

/**
 * The secret values a body carries (by path, and in URL userinfo): what fingerprints cover and scrubbing removes.
 */
export function secretValues(value: unknown): string[] {
  return collectSecrets(value, false);
}

/**
 * {@link secretValues} plus each proxy's `username:password`, so that its base64 (Basic authentication, as ARM or
 * a proxy may echo it) is scrubbed as well.
 */
export function scrubbableSecrets(value: unknown): string[] {
  return collectSecrets(value, true);
}

function collectSecrets(value: unknown, withPairs: boolean): string[] {
  const found: string[] = [];
  // `key` is the last key on the way to `item` (a proxy's pair is taken from the object under `proxy`).
  const visit = (item: unknown, state: SecretState, key: string | undefined): void => {
    if (Array.isArray(item)) for (let i = 0; i < item.length; i++) visit(item[i], state, key);
    else if (item !== null && typeof item === 'object') {
      const source = item as Record<string, unknown>;
      if (withPairs && key === 'proxy') {
        const password = source['password'];
        if (typeof password === 'string' && password !== '') {
          found.push(`${typeof source['username'] === 'string' ? source['username'] : ''}:${password}`);
        }
      }
      const keys = Object.keys(source);
      for (let i = 0; i < keys.length; i++) visit(source[keys[i]!], secretStep(state, keys[i]!), keys[i]);
    } else if (typeof item === 'string' && item.length > 0) {
      if (state === SECRET) found.push(item);
      else if (item.includes('@')) found.push(...urlSecrets(item));
    }
  };
  visit(value, OUTSIDE, undefined);
  return found;
}

/**
 * Replaces every known secret value in every string of `value`, in every encoding and, for long secrets, every long
 * fragment (see secret-forms.ts). A safeguard for text we do not control, such as ARM's error messages or a success
 * body with a secret copied into another field, which are redacted by path but could echo a value. Only the objects
 * and arrays on the way to a string that changed are copied; the rest (usually everything) is returned as it is.
 */
export function scrubSecretValues<T>(value: T, secrets: readonly string[]): T {
  return secretScrubber(secrets)(value);
}

/**
 * {@link scrubSecretValues} for several values with the same secrets: their forms are computed once. Without
 * secrets it returns each value as it is.
 */
export function secretScrubber(secrets: readonly string[]): <T>(value: T) => T {
  if (secrets.length === 0) return (value) => value;
  const scrubbing: Scrubbing = { forms: secretForms(secrets), redacted: undefined };
  return <T>(value: T): T => scrubItem(value, scrubbing) as T;
}

/** Both steps an outcome's parts take, for one request's secrets (their forms computed once). */
export interface OutcomeScrubber {
  /** {@link scrubSecretValues} */
  readonly scrub: <T>(value: T) => T;
  /** `scrub(redactSecrets(value))`, in one walk that builds one copy. */
  readonly redactAndScrub: <T>(value: T) => T;
}

export function outcomeScrubber(secrets: readonly string[]): OutcomeScrubber {
  if (secrets.length === 0) return { scrub: (value) => value, redactAndScrub: (value) => redactSecrets(value) };
  const scrubbing: Scrubbing = { forms: secretForms(secrets), redacted: undefined };
  return {
    scrub: <T>(value: T): T => scrubItem(value, scrubbing) as T,
    redactAndScrub: <T>(value: T): T => walk(value, OUTSIDE, scrubbing) as T,
  };
}

function scrubString(text: string, scrubbing: Scrubbing): string {
  if (text !== REDACTED) return scrubText(text, scrubbing.forms, REDACTED);
  return (scrubbing.redacted ??= scrubText(REDACTED, scrubbing.forms, REDACTED));
}

/** The forms of one scrubber's secrets, and what REDACTED (most strings of a redacted body) scrubs to. */
interface Scrubbing {
  forms: SecretForms;
  redacted: string | undefined;
}

/** `item` with its strings scrubbed; only the objects and arrays on the way to a changed string are copied. */
function scrubItem(item: unknown, scrubbing: Scrubbing): unknown {
  if (typeof item === 'string') return scrubString(item, scrubbing);
  if (Array.isArray(item)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < item.length; i++) {
      const value: unknown = item[i];
      const scrubbed = scrubItem(value, scrubbing);
      if (scrubbed !== value) (copy ??= item.slice())[i] = scrubbed;
    }
    return copy ?? item;
  }
  if (item !== null && typeof item === 'object') {
    // Keys and lookups rather than Object.entries/fromEntries: no pair array per property.
    const source = item as Record<string, unknown>;
    const keys = Object.keys(source);
    let copy: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const value = source[keys[i]!];
      const scrubbed = scrubItem(value, scrubbing);
      if (scrubbed === value) continue;
      if (copy === undefined) {
        copy = {};
        for (const key of keys) setOwn(copy, key, source[key]);
      }
      setOwn(copy, keys[i]!, scrubbed);
    }
    return copy ?? item;
  }
  return item;
}

/** `out[key] = value` as an own property, also for `__proto__` (an assignment would set the prototype instead). */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true });
  else out[key] = value;
}
