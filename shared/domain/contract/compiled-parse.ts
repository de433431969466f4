/**
 * zod's compiled fast path for the contract's hot parses. zod's interpreter walks the schema tree per value (a payload
 * object per field, a closure per refinement, nested `safeParse` calls): about 20 µs for one change request. zod's own
 * code generator (`z.compile`) turns a schema into straight-line JavaScript; this module uses it for valid input only:
 *
 * - a value the generated code accepts is answered with the generated code's output (zod guarantees it is the
 *   runtime's output);
 * - anything else is parsed again by the runtime schema itself, so every refusal, with its issues, codes, messages
 *   and paths, is exactly the runtime's.
 *
 * The schemas stay the single source of truth: the generated code is derived from them, not written by hand.
 * Some refinements run "always" (`{ when: () => true }`, so one answer lists every problem even when sibling fields
 * failed), which zod does not compile. Their schemas are therefore compiled from a *variant* built by the same
 * factory with the refinements as ordinary ones: on a valid value both run the same refinements on the same values
 * (nothing failed before them), and on an invalid one the variant's answer is never used.
 *
 * Compiled after `COMPILE_AFTER` parses, not at start: generating the code costs milliseconds (about 10 ms for the
 * backend body), which the first requests of a cold start should not wait for, and which pays off only over hundreds
 * of parses (~20 µs saved each). Until then the runtime schema parses, as it always did. A schema zod cannot compile
 * keeps the runtime parse (a property test asserts that every fast path here is compiled).
 */
import * as z from 'zod';
// Named imports from the core entry, not `z.core.…`: reading zod's `core` namespace object would keep all of it in
// the package bundle (+300 KB, +40 ms to compile at each cold start).
import { compileFn, INVALID } from 'zod/v4/core';

/** A `safeParse` that tries the compiled code first. */
export interface CompiledParse<Output> {
  (input: unknown): z.ZodSafeParseResult<Output>;
  /** Whether the fast path is compiled (false when zod refused the schema; then it is the runtime parse alone). */
  readonly compiled: () => boolean;
  /** Whether the compiled code itself accepts `input` (for tests: valid input must not need the runtime). */
  readonly compiledAccepts: (input: unknown) => boolean;
}

type FastFn = (input: unknown) => unknown;

/** Parses made by the runtime schema before its fast path is compiled. */
const COMPILE_AFTER = 100;

/**
 * `schema.safeParse` with a compiled fast path generated from `variant()` (default: `schema` itself), which must be
 * `schema` built with the same fields and refinements, differing at most in when refinements run.
 */
export function compiledParse<T extends z.ZodType>(schema: T, variant: () => z.ZodType = () => schema) {
  let fast: FastFn | null | undefined;
  let uses = 0;
  const compile = (): FastFn | null => {
    try {
      return compileFn(variant());
    } catch {
      return null;
    }
  };
  const parse = (input: unknown): z.ZodSafeParseResult<z.output<T>> => {
    if (fast === undefined) {
      if (++uses < COMPILE_AFTER) return schema.safeParse(input);
      fast = compile();
    }
    if (fast !== null) {
      const out = fast(input);
      if (out !== INVALID) return { success: true, data: out as z.output<T> };
    }
    return schema.safeParse(input);
  };
  const compiled = (): boolean => {
    if (fast === undefined) fast = compile();
    return fast !== null;
  };
  return Object.assign(parse, {
    compiled,
    compiledAccepts: (input: unknown): boolean => compiled() && fast!(input) !== INVALID,
  }) as CompiledParse<z.output<T>>;
}
