import { createTargetQueue } from '../../shared/app/target-queue';

const tick = () => new Promise((resolve) => setImmediate(resolve));

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('the per-backend write queue', () => {
  it('runs work for one key one at a time, in arrival order; other keys in parallel', async () => {
    const queue = createTargetQueue();
    const log: string[] = [];
    const first = gate();
    const a1 = queue.run('a', async () => {
      log.push('a1 start');
      await first.promise;
      log.push('a1 end');
    });
    const a2 = queue.run('a', () => Promise.resolve(void log.push('a2')));
    const b1 = queue.run('b', () => Promise.resolve(void log.push('b1')));
    await b1;
    await tick();
    expect(log).toEqual(['a1 start', 'b1']);
    first.open();
    await Promise.all([a1, a2]);
    expect(log).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
    expect(queue.size()).toBe(0);
  });

  it('a wait ends at the deadline without running the work, and the queue moves on', async () => {
    const queue = createTargetQueue();
    const held = gate();
    const running = queue.run('a', () => held.promise);
    let ran = false;
    const late = await queue.run('a', () => Promise.resolve(void (ran = true)), { deadline: Date.now() + 20 });
    expect(late).toEqual({ kind: 'expired' });
    expect(ran).toBe(false);
    held.open();
    await running;
    expect(await queue.run('a', () => Promise.resolve(1))).toEqual({ kind: 'done', value: 1 });
    expect(queue.size()).toBe(0);
  });

  it('a wait ends at once when aborted', async () => {
    const queue = createTargetQueue();
    const held = gate();
    const running = queue.run('a', () => held.promise);
    const controller = new AbortController();
    const waiting = queue.run('a', () => Promise.resolve('ran'), { signal: controller.signal });
    controller.abort();
    expect(await waiting).toEqual({ kind: 'expired' });
    held.open();
    await running;
    expect(queue.size()).toBe(0);
  });

  it('a failing work releases the key', async () => {
    const queue = createTargetQueue();
    await expect(queue.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await queue.run('a', () => Promise.resolve('next'))).toEqual({ kind: 'done', value: 'next' });
  });
});
