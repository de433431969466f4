/**
 * The active span, carried from a promise to its continuations by V8's promise hooks (`node:v8` promiseHooks).
 *
 * Why not AsyncLocalStorage: on Node 20 it turns on async_hooks for the whole process, which assigns async ids to
 * every promise and dispatches every promise, timer and socket event through its hook machinery — about two thirds
 * of what tracing cost per change in bench row 8. What the app traces is async/await code, where a continuation
 * runs in the context its `await` (or `.then`) was made in: three small hooks do that, at about a third of the cost.
 * Callbacks that are not promise continuations (timers, emitters) do not carry a span; none of the app's spans is
 * started from one (spans are started by the telemetry port's callers, all async functions).
 *
 * The hooks are installed while at least one telemetry uses them (from its first span to its shutdown): a process
 * with telemetry off never installs them. `promiseHooks` is marked experimental in Node 20's documentation.
 */
import { promiseHooks } from 'node:v8';

const CONTEXT = Symbol('span context');
type Carrying = Promise<unknown> & { [CONTEXT]?: unknown };

let current: unknown;
let users = 0;
let stop: (() => void) | undefined;

/** Starts carrying the context (one call per telemetry; the hooks go in with the first). */
export function acquireSpanContext(): void {
  if (users++ > 0) return;
  stop = promiseHooks.createHook({
    // Promises made outside any span keep their shape: the property is added only when there is a context.
    init(promise) {
      if (current !== undefined) (promise as Carrying)[CONTEXT] = current;
    },
    // A continuation runs from the microtask queue, never inside another: it starts with its promise's context
    // and leaves none behind.
    before(promise) {
      current = (promise as Carrying)[CONTEXT];
    },
    after() {
      current = undefined;
    },
  }) as () => void; // typed as Function by @types/node; it is the hook's stop function
}

/** Stops carrying it for this telemetry (the hooks go with the last). */
export function releaseSpanContext(): void {
  if (users === 0 || --users > 0) return;
  stop?.();
  stop = undefined;
  current = undefined;
}

/** Whether the hooks are installed (the bench checks its "off" rounds run without them). */
export function spanContextActive(): boolean {
  return stop !== undefined;
}

/** The context of the running code: what the innermost {@link runWithContext} set, across awaits. */
export function currentContext(): unknown {
  return current;
}

/** Runs `fn` with `context` as the current context; promises it makes carry it to their continuations. */
export function runWithContext<A, R>(context: unknown, fn: (arg: A) => R, arg: A): R {
  const previous = current;
  current = context;
  try {
    return fn(arg);
  } finally {
    current = previous;
  }
}
