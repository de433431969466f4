import { request } from 'node:https';
import type { Agent } from 'node:https';
import { startArmEmulator } from '../../local/arm-emulator';
import { tlsTrustPolicy } from '../../shared/adapters/arm/tls-trust-policy';

type Emulator = Awaited<ReturnType<typeof startArmEmulator>>;

function get(agent: Agent, base: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL('/subscriptions?api-version=2024-05-01', base);
    const req = request(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('trusting the extra CA (ARM_CA_CERT_FILE)', () => {
  let trusted: Emulator;
  let stranger: Emulator;
  beforeAll(async () => {
    [trusted, stranger] = await Promise.all([startArmEmulator(), startArmEmulator()]);
  });
  afterAll(async () => {
    await Promise.all([trusted.stop(), stranger.stop()]);
  });

  it('reaches a server signed by the extra CA, over reused keep-alive connections', async () => {
    const { agent } = tlsTrustPolicy(trusted.caCertPem);
    try {
      const statuses = await Promise.all([1, 2, 3].map(() => get(agent, trusted.url, trusted.token)));
      expect(statuses.every((status) => status > 0 && status !== 401)).toBe(true);
      expect(await get(agent, trusted.url, trusted.token)).toBe(statuses[0]);
    } finally {
      agent.destroy();
    }
  });

  it('still refuses a server neither the extra CA nor a system root vouches for', async () => {
    expect(stranger.caCertPem).not.toBe(trusted.caCertPem);
    const { agent } = tlsTrustPolicy(trusted.caCertPem);
    try {
      await expect(get(agent, stranger.url, stranger.token)).rejects.toMatchObject({
        code: expect.stringMatching(/CERT|SIGNATURE/) as unknown,
      });
      // And the fallback (system roots + extra CA) refuses it too, on the next connection.
      await expect(get(agent, stranger.url, stranger.token)).rejects.toMatchObject({
        code: expect.stringMatching(/CERT|SIGNATURE/) as unknown,
      });
    } finally {
      agent.destroy();
    }
  });
});
