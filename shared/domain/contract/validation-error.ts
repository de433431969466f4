/**
 * Turns zod issues into the ARM-style error body the service answers with: one detail per problem, each naming the
 * offending field by its path from the request root (`body.properties.pool.services[0].weight`).
 *
 * Messages for zod's built-in checks are written here from the issue's structure (expected type, limits, allowed
 * values), never from the received value, so a secret sent in the wrong place is never echoed. Custom issues raised
 * by the contract's own refinements carry their message and a `params.code`; those messages never quote values either.
 */
import type { z } from 'zod';
import { formatPath } from '../json-path';
import type { ErrorBody, ErrorDetail } from './error-response';

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

/** What is at `path` in the original input: whether the last key exists, and the value's JSON type. */
function lookup(root: unknown, path: readonly PathKey[]): { present: boolean; type: string } {
  let value: unknown = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return { present: false, type: 'undefined' };
    const container = value as Record<PropertyKey, unknown>;
    if (!Object.prototype.hasOwnProperty.call(container, key)) return { present: false, type: 'undefined' };
    value = container[key];
  }
  return { present: value !== undefined, type: jsonType(value) };
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  object: 'an object',
  record: 'an object',
  array: 'an array',
  null: 'null',
};

function typeName(type: string): string {
  return TYPE_NAMES[type] ?? type;
}

function lastKey(path: readonly PathKey[]): string {
  const key = path[path.length - 1];
  return key === undefined ? 'value' : String(key);
}

function describeList(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
}

/** Expected types named by the branches of a failed union (each branch's root-level type mismatch). */
function unionExpectations(issue: Extract<Issue, { code: 'invalid_union' }>): string[] {
  const expected = new Set<string>();
  for (const branch of issue.errors) {
    for (const inner of branch) {
      if (inner.code === 'invalid_type' && inner.path.length === 0) expected.add(typeName(inner.expected));
    }
  }
  return [...expected];
}

function customCode(issue: Extract<Issue, { code: 'custom' }>): string {
  const code: unknown = issue.params?.code;
  return typeof code === 'string' ? code : 'InvalidValue';
}

function tooBig(issue: Extract<Issue, { code: 'too_big' }>): { code: string; message: string } {
  const max = issue.maximum.toString();
  const bound = issue.inclusive === false ? `less than ${max}` : `at most ${max}`;
  if (issue.origin === 'string') return { code: 'TooLong', message: `Must be ${bound} characters long.` };
  if (issue.origin === 'array') return { code: 'TooManyItems', message: `Must have ${bound} items.` };
  return { code: 'OutOfRange', message: `Must be ${bound}.` };
}

function tooSmall(issue: Extract<Issue, { code: 'too_small' }>): { code: string; message: string } {
  const min = issue.minimum.toString();
  const bound = issue.inclusive === false ? `more than ${min}` : `at least ${min}`;
  if (issue.origin === 'string') {
    return min === '1'
      ? { code: 'TooShort', message: 'Must not be empty.' }
      : { code: 'TooShort', message: `Must be ${bound} characters long.` };
  }
  if (issue.origin === 'array') {
    return min === '1'
      ? { code: 'TooFewItems', message: 'Must not be empty.' }
      : { code: 'TooFewItems', message: `Must have ${bound} items.` };
  }
  return { code: 'OutOfRange', message: `Must be ${bound}.` };
}

/** The details for one issue (unknown keys give one detail per key). */
function detailsOf(issue: Issue, root: unknown, hasRoot: boolean): ErrorDetail[] {
  const at = (path: readonly PathKey[], code: string, message: string): ErrorDetail => {
    const target = formatPath(path);
    return target === '' ? { code, message } : { code, target, message };
  };
  const required = (path: readonly PathKey[]): ErrorDetail =>
    at(path, 'Required', path.length === 0 ? 'A value is required.' : `'${lastKey(path)}' is required.`);
  // A value that is not there at all fails a type or value check: say it is required, whatever check noticed.
  const absent = hasRoot && issue.path.length > 0 && !lookup(root, issue.path).present;
  if (absent && (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union')) {
    return [required(issue.path)];
  }
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) =>
        at([...issue.path, key], 'UnknownProperty', `'${key}' is not a known property here.`),
      );
    case 'invalid_type': {
      const found = hasRoot ? lookup(root, issue.path) : undefined;
      if (found !== undefined && !found.present) return [required(issue.path)]; // only the root itself gets here
      // "Must be an integer, not a number" would confuse: say what kind of value it was only when it helps.
      const helpful = found !== undefined && !(issue.expected === 'int' && found.type === 'number');
      const received = helpful ? `, not ${typeName(found.type)}` : '';
      return [at(issue.path, 'InvalidType', `Must be ${typeName(issue.expected)}${received}.`)];
    }
    case 'invalid_union': {
      const expected = unionExpectations(issue);
      const message = expected.length > 0 ? `Must be ${expected.join(' or ')}.` : 'Has an invalid value.';
      return [at(issue.path, 'InvalidType', message)];
    }
    case 'invalid_value':
      return [
        at(
          issue.path,
          'InvalidValue',
          issue.values.length === 1
            ? `Must be ${describeList(issue.values)}.`
            : `Must be one of: ${describeList(issue.values)}.`,
        ),
      ];
    case 'too_big': {
      const { code, message } = tooBig(issue);
      return [at(issue.path, code, message)];
    }
    case 'too_small': {
      const { code, message } = tooSmall(issue);
      return [at(issue.path, code, message)];
    }
    case 'invalid_format':
      return [at(issue.path, 'InvalidFormat', `Must be a valid ${issue.format}.`)];
    case 'not_multiple_of':
      return [at(issue.path, 'OutOfRange', `Must be a multiple of ${issue.divisor}.`)];
    case 'invalid_key': {
      const inner = issue.issues.find((i) => i.code === 'custom');
      return [
        inner === undefined
          ? at(issue.path, 'InvalidValue', 'Has an invalid key.')
          : at(issue.path, customCode(inner), inner.message),
      ];
    }
    case 'invalid_element':
      return [at(issue.path, 'InvalidValue', 'Has an invalid element.')];
    case 'custom': {
      const code = customCode(issue);
      // A type check written as a custom issue (e.g. a union's fallback branch) on a value that is not there at all.
      if (code === 'InvalidType' && absent) return [required(issue.path)];
      return [at(issue.path, code, issue.message)];
    }
  }
}

/** Options for {@link toValidationError}. */
export interface ValidationErrorOptions {
  /**
   * The value that was validated. With it, a missing field is reported as `Required` and a wrong one names the JSON
   * type it had; only types are read from it, never values.
   */
  input?: unknown;
  /** What was validated, for the summary message; default "change request". */
  subject?: string;
}

/**
 * Builds a `ValidationError` body from zod issues: every problem becomes one detail `{ code, target, message }`,
 * `target` being the field's path from the request root. Detail codes: Required, InvalidType, UnknownProperty,
 * TooLong, TooShort, TooManyItems, TooFewItems, OutOfRange, InvalidValue, InvalidFormat, and the contract's own
 * (UnsafePathSegment, InvalidResourceId, NotSupportedForPool, NotAllowed, Duplicate, OutOfScope, SelfReference, …).
 */
export function toValidationError(issues: readonly Issue[], options: ValidationErrorOptions = {}): ErrorBody {
  const hasRoot = 'input' in options;
  const seen = new Set<string>();
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
    for (const detail of detailsOf(issue, options.input, hasRoot)) {
      const key = `${detail.target ?? ''}\u0000${detail.code}\u0000${detail.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      details.push(detail);
    }
  }
  const subject = options.subject ?? 'change request';
  const count = details.length === 1 ? '1 problem' : `${details.length} problems`;
  const first = details[0];
  const firstText = first === undefined ? '' : ` First: ${first.target ?? 'the request'}: ${first.message}`;
  return { code: 'ValidationError', message: `The ${subject} is invalid: ${count}.${firstText}`, details };
}
