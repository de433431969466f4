import { lazyAsync } from '../../shared/adapters/lazy-async';

describe('lazyAsync (credentials, the Service Bus client, the ledger table)', () => {
  it('creates once on first use and shares that creation with concurrent and later callers', async () => {
    let created = 0;
    const lazy = lazyAsync(() => Promise.resolve(++created));
    expect(created).toBe(0);
    const [a, b] = await Promise.all([lazy.get(), lazy.get()]);
    expect([a, b, await lazy.get()]).toEqual([1, 1, 1]);
    expect(created).toBe(1);
  });

  it('forgets a failed creation, so a later call tries again instead of failing forever', async () => {
    let calls = 0;
    const lazy = lazyAsync(() => (++calls === 1 ? Promise.reject(new Error('unreachable')) : Promise.resolve('up')));
    const [first, concurrent] = await Promise.allSettled([lazy.get(), lazy.get()]);
    expect(first).toMatchObject({ status: 'rejected' });
    expect(concurrent).toMatchObject({ status: 'rejected' }); // shared the one failed attempt
    await expect(lazy.get()).resolves.toBe('up');
    expect(calls).toBe(2);
  });

  it('take() hands over what was created and forgets it (closing); nothing before first use', async () => {
    let created = 0;
    const lazy = lazyAsync(() => Promise.resolve(++created));
    expect(lazy.take()).toBeUndefined();
    await lazy.get();
    await expect(lazy.take()).resolves.toBe(1);
    await expect(lazy.get()).resolves.toBe(2);
  });
});
