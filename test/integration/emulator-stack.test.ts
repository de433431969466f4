import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { request } from 'node:https';
import { startEmulatorStack } from '../../local/emulator-stack';

/** Resolves with the HTTPS status of GET `url`, or the connection error's code. */
function probe(url: string, ca: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { ca, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    req.end();
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('startEmulatorStack (npm start, the tests and the bench start the stand-ins through it)', () => {
  test('starts what is asked, gives the settings that point the app at it, and stop() leaves nothing behind', async () => {
    const stack = await startEmulatorStack({ arm: {}, broker: { queues: [{ name: 'q' }] } });
    const ca = stack.emulator!.caCertPem;
    expect(stack.azurite).toBeUndefined();
    expect(Object.keys(stack.settings).sort()).toEqual([
      'ARM_ACCESS_TOKEN',
      'ARM_CA_CERT_FILE',
      'ARM_ENDPOINT',
      'ServiceBusConnection',
    ]);
    expect(existsSync(stack.settings['ARM_CA_CERT_FILE']!)).toBe(true);
    expect(await probe(`${stack.settings['ARM_ENDPOINT']!}/`, ca)).toEqual(expect.any(Number));

    await stack.stop();
    await stack.stop(); // idempotent
    expect(existsSync(stack.settings['ARM_CA_CERT_FILE']!)).toBe(false);
    expect(await probe(`${stack.settings['ARM_ENDPOINT']!}/`, ca)).toBe('ECONNREFUSED');
  });

  test('when one part cannot start, the error is thrown and the parts that did start are stopped', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    const armPort = await freePort();
    try {
      await expect(startEmulatorStack({ arm: { port: armPort }, broker: { port } })).rejects.toThrow(/EADDRINUSE/);
      // The emulator did start on its port; it was stopped again.
      expect(await probe(`https://127.0.0.1:${armPort}/`, '')).toBe('ECONNREFUSED');
    } finally {
      blocker.close();
    }
  });
});
