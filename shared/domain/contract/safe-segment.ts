/**
 * Rules for the ARM path segments of a backend (subscription, resource group, service, workspace, backend id), and
 * the target schemas built from them.
 *
 * Every segment ends up in a URL path. `backendPath` percent-encodes it, but encoding is the second line of defence:
 * a segment that could change which resource a URL names (`/`, `\`, `..`, `?`, `#`, `%`-escapes, control characters,
 * padding whitespace, or a Unicode look-alike of `/` or `.` such as U+2215, U+2044, U+FF0F, U+FF0E, U+2024 that some
 * layer might normalise) is refused here, before anything is sent.
 *
 * Decision: all segments are printable ASCII. Rather than chase an open-ended list of look-alikes, anything outside
 * U+0021–U+007E is refused. This also refuses the (rare) resource group names with Unicode letters, which ARM itself
 * allows; such a group is out of reach for this service by design.
 * - `subscriptionId`: a GUID, `8-4-4-4-12` hex digits (any version, like ARM).
 * - `resourceGroupName`: 1–90 of `A–Z a–z 0–9 - _ . ( )`, not ending in `.` (ARM's rule, ASCII-only here).
 * - `serviceName`: 1–50, `^[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$` (the reference's pattern).
 * - `workspaceId`, `backendId`: 1–80 of `A–Z a–z 0–9 - _ . ~ ( ) ! $ ' , ; = @`, not ending in `.` and without `..`.
 *   That is a subset of the reference's workspace pattern `^[^*#&+:<>?]+$` (which would also admit `/`, `%` and
 *   spaces) and covers the ids API Management generates (e.g. `WebApp_my-app`, `LogicApp_x_rg`).
 */
import * as z from 'zod';
import { parseResourceId, type BackendTarget } from '../backend-id';
import { isRecord } from '../is-record';
import { compiledParse } from './compiled-parse';

/** The names of a backend's path segments, as the target object spells them. */
export type SegmentName = 'subscriptionId' | 'resourceGroupName' | 'serviceName' | 'workspaceId' | 'backendId';

/** Why a segment was refused: a detail code and a reason phrased to follow the segment's name ("must not …"). */
export interface SegmentProblem {
  code: 'UnsafePathSegment' | 'TooShort' | 'TooLong' | 'InvalidFormat';
  reason: string;
}

interface SegmentRule {
  max: number;
  pattern: RegExp;
  /** What the pattern demands, phrased to follow "must". */
  patternReason: string;
  /** Whether a trailing `.` is refused (ARM strips or refuses it for these names). */
  noTrailingDot: boolean;
}

const ID_CHARS = /^[A-Za-z0-9._~()!$',;=@-]+$/;
const ID_CHARS_REASON = "must contain only letters, digits and the characters . _ ~ ( ) ! $ ' , ; = @ -";

const RULES: Record<SegmentName, SegmentRule> = {
  subscriptionId: {
    max: 36,
    pattern: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    patternReason: 'must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)',
    noTrailingDot: false,
  },
  resourceGroupName: {
    max: 90,
    pattern: /^[-\w.()]+$/,
    patternReason: 'must contain only letters, digits and the characters - _ . ( )',
    noTrailingDot: true,
  },
  serviceName: {
    max: 50,
    pattern: /^[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/,
    patternReason: 'must start with a letter, end with a letter or digit, and contain only letters, digits and -',
    noTrailingDot: false,
  },
  workspaceId: { max: 80, pattern: ID_CHARS, patternReason: ID_CHARS_REASON, noTrailingDot: true },
  backendId: { max: 80, pattern: ID_CHARS, patternReason: ID_CHARS_REASON, noTrailingDot: true },
};

// C0 controls, DEL and C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const NON_PRINTABLE_ASCII = /[^\u0021-\u007e]/;

/**
 * The first reason a value cannot be used as the named path segment, or undefined when it is safe and valid.
 * Reasons never quote the value (it may be anything a caller sent).
 */
export function segmentProblem(name: SegmentName, value: string): SegmentProblem | undefined {
  const rule = RULES[name];
  // The usual, valid value in one pattern test: every pattern admits only printable ASCII without / \ ? # % or
  // spaces, so a value it matches, within the length, without '..' and (where refused) a trailing '.', has none of
  // the problems below (a property test compares this with the checks one by one).
  if (
    value.length <= rule.max &&
    rule.pattern.test(value) &&
    !value.includes('..') &&
    !(rule.noTrailingDot && value.endsWith('.'))
  ) {
    return undefined;
  }
  if (value.length === 0) return { code: 'TooShort', reason: 'must not be empty' };
  const unsafe = unsafeReason(value);
  if (unsafe !== undefined) return { code: 'UnsafePathSegment', reason: unsafe };
  if (value.length > rule.max) return { code: 'TooLong', reason: `must be at most ${rule.max} characters` };
  if (!rule.pattern.test(value)) return { code: 'InvalidFormat', reason: rule.patternReason };
  if (rule.noTrailingDot && value.endsWith('.')) return { code: 'InvalidFormat', reason: "must not end with '.'" };
  return undefined;
}

/** Characters and sequences that could redirect a URL path, checked most specific first. */
function unsafeReason(value: string): string | undefined {
  if (CONTROL.test(value)) return 'must not contain control characters';
  if (value.trim() !== value) return 'must not begin or end with whitespace';
  if (value.includes('/') || value.includes('\\')) return "must not contain '/' or '\\'";
  if (value.includes('..')) return "must not contain '..'";
  if (value.includes('?') || value.includes('#')) return "must not contain '?' or '#'";
  if (value.includes('%')) return "must not contain '%' (percent-encoded text is not accepted)";
  if (NON_PRINTABLE_ASCII.test(value)) {
    return 'must contain only printable ASCII characters (spaces and look-alikes of / and . are refused)';
  }
  return undefined;
}

function capitalise(reason: string): string {
  return `${reason.charAt(0).toUpperCase()}${reason.slice(1)}.`;
}

/** A string schema for one path segment; a refused value gives one issue with a meaningful `params.code`. */
export function segmentSchema(name: SegmentName) {
  return z.string().superRefine((value, ctx) => {
    const problem = segmentProblem(name, value);
    if (problem) ctx.addIssue({ code: 'custom', message: capitalise(problem.reason), params: { code: problem.code } });
  });
}

/** A backend target given as an object, every segment validated; unknown keys are refused. */
export const BackendTargetObjectSchema = z.strictObject({
  subscriptionId: segmentSchema('subscriptionId'),
  resourceGroupName: segmentSchema('resourceGroupName'),
  serviceName: segmentSchema('serviceName'),
  workspaceId: segmentSchema('workspaceId').optional(),
  backendId: segmentSchema('backendId'),
});

/** One reason a backend ARM id string was refused. */
export interface ArmIdProblem {
  code: SegmentProblem['code'] | 'InvalidResourceId';
  message: string;
}

/** The result of reading a backend ARM id string: its target, or every problem found. */
export type BackendArmIdResult = { ok: true; target: BackendTarget } | { ok: false; problems: ArmIdProblem[] };

const BACKEND_ID_SHAPE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ApiManagement' +
  '/service/{serviceName}[/workspaces/{workspaceId}]/backends/{backendId}';

/**
 * Reads the ARM id of an API Management backend (service or workspace scope) and validates each segment by the
 * same rules as a target object. Padding whitespace is refused rather than trimmed.
 */
export function parseBackendArmId(id: string): BackendArmIdResult {
  if (id.trim() !== id || CONTROL.test(id)) {
    return {
      ok: false,
      problems: [{ code: 'UnsafePathSegment', message: 'Must not contain control characters or padding whitespace.' }],
    };
  }
  const parsed = parseResourceId(id);
  if (parsed?.kind !== 'backend') {
    return {
      ok: false,
      problems: [{ code: 'InvalidResourceId', message: `Must be the ARM id of a backend: ${BACKEND_ID_SHAPE}.` }],
    };
  }
  const { target } = parsed;
  const problems: ArmIdProblem[] = [];
  for (const name of ['subscriptionId', 'resourceGroupName', 'serviceName', 'workspaceId', 'backendId'] as const) {
    const value = target[name];
    if (value === undefined) continue;
    const problem = segmentProblem(name, value);
    if (problem) problems.push({ code: problem.code, message: `The ${name} segment ${problem.reason}.` });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, target };
}

function addArmIdProblems(problems: ArmIdProblem[], ctx: z.core.$RefinementCtx): void {
  for (const p of problems) ctx.addIssue({ code: 'custom', message: p.message, params: { code: p.code } });
}

/** A string that must be a valid backend ARM id; the output is the string as written. */
export const BackendArmIdSchema = z.string().superRefine((id, ctx) => {
  const result = parseBackendArmId(id);
  if (!result.ok) addArmIdProblems(result.problems, ctx);
});

/** A backend ARM id string, transformed to its target object. */
export const BackendArmIdTargetSchema = z.string().transform((id, ctx): BackendTarget => {
  const result = parseBackendArmId(id);
  if (result.ok) return result.target;
  addArmIdProblems(result.problems, ctx);
  return z.NEVER;
});

/** The input of a target: an object of segments, or the backend's ARM id. */
export type BackendTargetInput = z.input<typeof BackendTargetObjectSchema> | string;

// The parses with zod's compiled fast path (see compiled-parse.ts); their answers are the schemas'.
export const parseTargetObject = compiledParse(BackendTargetObjectSchema);
export const parseArmIdTarget = compiledParse(BackendArmIdTargetSchema);

/**
 * A change request's `target`: an object of segments, or the backend's ARM id as one string. Either way the output
 * is a validated `BackendTarget`. The input's type picks the schema (rather than a zod union, which would hide the
 * object's own issues behind "invalid union" as soon as one of them is a missing field), so every issue keeps its
 * path, e.g. `target.serviceName`.
 */
export const BackendTargetSchema = z.custom<BackendTargetInput>().transform((value, ctx): BackendTarget => {
  if (typeof value !== 'string' && !isRecord(value)) {
    ctx.addIssue({
      code: 'custom',
      message: "Must be an object of path segments or the backend's ARM id as a string.",
      params: { code: 'InvalidType' },
    });
    return z.NEVER;
  }
  const result = typeof value === 'string' ? parseArmIdTarget(value) : parseTargetObject(value);
  if (result.success) {
    lastValidTarget = result.data;
    return result.data;
  }
  for (const issue of result.error.issues) ctx.addIssue({ ...issue });
  return z.NEVER;
});

/** The target the last successful parse of BackendTargetSchema produced (parses are synchronous). */
let lastValidTarget: BackendTarget | undefined;

/**
 * `value` itself when it is the target BackendTargetSchema has just produced, so the request-level rules, which
 * run in the same parse, need not validate it a second time; undefined otherwise.
 */
export function justParsedTarget(value: unknown): BackendTarget | undefined {
  return value !== undefined && value === lastValidTarget ? lastValidTarget : undefined;
}
