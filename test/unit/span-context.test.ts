/**
 * The active span travels with promises: across awaits, timers awaited and `.then`, each concurrent chain keeping
 * its own; nothing is left for code outside a chain; the hooks are installed only while a telemetry uses them.
 */
import { promiseHooks } from 'node:v8';
import {
  acquireSpanContext,
  contextCarrier,
  currentContext,
  releaseSpanContext,
  runWithContext,
  spanContextActive,
} from '../../shared/adapters/telemetry/span-context';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('span context', () => {
  beforeEach(() => acquireSpanContext());
  afterEach(() => releaseSpanContext());

  it('follows each of several concurrent chains across awaits, timers and then', async () => {
    const chain = async (name: string, delay: number) => {
      await sleep(delay);
      const afterTimer = currentContext();
      await Promise.resolve();
      const nested = await runWithContext(
        `${name}/inner`,
        async () => {
          await sleep(1);
          return currentContext();
        },
        undefined,
      );
      const viaThen = await sleep(1).then(() => currentContext());
      return [afterTimer, nested, viaThen, currentContext()];
    };
    const results = await Promise.all(
      ['a', 'b', 'c'].map((name, i) => runWithContext(name, () => chain(name, 9 - 3 * i), undefined)),
    );
    expect(results).toEqual([
      ['a', 'a/inner', 'a', 'a'],
      ['b', 'b/inner', 'b', 'b'],
      ['c', 'c/inner', 'c', 'c'],
    ]);
    expect(currentContext()).toBeUndefined();
  });

  it('leaves no context to callbacks that are not continuations of a chain', async () => {
    const seen: unknown[] = [];
    await runWithContext(
      'span',
      async () => {
        await Promise.resolve();
        setTimeout(() => seen.push(currentContext()), 1);
      },
      undefined,
    );
    await sleep(5);
    expect(seen).toEqual([undefined]);
  });

  it('is installed while someone uses it, and removed with the last', () => {
    expect(spanContextActive()).toBe(true);
    acquireSpanContext();
    releaseSpanContext();
    expect(spanContextActive()).toBe(true);
    releaseSpanContext();
    expect(spanContextActive()).toBe(false);
    acquireSpanContext(); // for afterEach
  });
});

describe('without promise hooks (a Node that has none)', () => {
  it('carries the context in an AsyncLocalStorage instead: each concurrent chain keeps its own', async () => {
    const carrier = contextCarrier(undefined);
    expect(carrier.kind).toBe('asyncLocalStorage');
    expect(contextCarrier(promiseHooks).kind).toBe('promiseHooks');
    const stop = carrier.install();
    const chain = async (name: string, delay: number) => {
      await sleep(delay);
      const nested = await carrier.run(
        `${name}/inner`,
        async () => {
          await sleep(1);
          return carrier.current();
        },
        undefined,
      );
      return [nested, carrier.current()];
    };
    const results = await Promise.all(
      ['a', 'b'].map((name, i) => carrier.run(name, () => chain(name, 6 - 3 * i), undefined)),
    );
    expect(results).toEqual([
      ['a/inner', 'a'],
      ['b/inner', 'b'],
    ]);
    expect(carrier.current()).toBeUndefined();
    stop();
  });
});
