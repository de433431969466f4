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
 * `promiseHooks` is marked experimental in Node's documentation (20 to 24). Should a Node version not have it, the
 * context is kept in an AsyncLocalStorage instead (slower, same results for the app's spans): tracing must never
 * fail an invocation.
 *
 * The hooks are installed while at least one telemetry uses them (from its first span to its shutdown): a process
 * with telemetry off never installs them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as v8 from 'node:v8';

/** How the context is carried: one implementation per process (see {@link contextCarrier}). */
export interface ContextCarrier {
  readonly kind: 'promiseHooks' | 'asyncLocalStorage';
  /** Starts carrying; returns how to stop. */
  install(): () => void;
  current(): unknown;
  run<A, R>(context: unknown, fn: (arg: A) => R, arg: A): R;
}

type PromiseHooks = Pick<typeof v8.promiseHooks, 'createHook'>;

/** The promise-hook carrier, or the AsyncLocalStorage one when `hooks` is missing (a Node without them). */
export function contextCarrier(hooks: PromiseHooks | undefined): ContextCarrier {
  return typeof hooks?.createHook === 'function' ? promiseHookCarrier(hooks) : asyncLocalStorageCarrier();
}

function promiseHookCarrier(hooks: PromiseHooks): ContextCarrier {
  const CONTEXT = Symbol('span context');
  type Carrying = Promise<unknown> & { [CONTEXT]?: unknown };
  let current: unknown;
  return {
    kind: 'promiseHooks',
    install() {
      const stop = hooks.createHook({
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
      return () => {
        stop();
        current = undefined;
      };
    },
    current: () => current,
    run(context, fn, arg) {
      const previous = current;
      current = context;
      try {
        return fn(arg);
      } finally {
        current = previous;
      }
    },
  };
}

function asyncLocalStorageCarrier(): ContextCarrier {
  const storage = new AsyncLocalStorage<unknown>();
  return {
    kind: 'asyncLocalStorage',
    install: () => () => storage.disable(),
    current: () => storage.getStore(),
    run: (context, fn, arg) => storage.run(context, fn, arg),
  };
}

const carrier = contextCarrier((v8 as { promiseHooks?: PromiseHooks }).promiseHooks);
let users = 0;
let stop: (() => void) | undefined;

/** Starts carrying the context (one call per telemetry; the hooks go in with the first). */
export function acquireSpanContext(): void {
  if (users++ > 0) return;
  stop = carrier.install();
}

/** Stops carrying it for this telemetry (the hooks go with the last). */
export function releaseSpanContext(): void {
  if (users === 0 || --users > 0) return;
  stop?.();
  stop = undefined;
}

/** Whether the hooks are installed (the bench checks its "off" rounds run without them). */
export function spanContextActive(): boolean {
  return stop !== undefined;
}

/** The context of the running code: what the innermost {@link runWithContext} set, across awaits. */
export function currentContext(): unknown {
  return carrier.current();
}

/** Runs `fn` with `context` as the current context; promises it makes carry it to their continuations. */
export function runWithContext<A, R>(context: unknown, fn: (arg: A) => R, arg: A): R {
  return carrier.run(context, fn, arg);
}
