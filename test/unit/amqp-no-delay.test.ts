import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

describe('TCP_NODELAY for the development broker', () => {
  test('loaded twice (as Jest and bundles do), it still adds one connect listener per socket, not one per copy', async () => {
    const server = createServer((s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const connectionString = `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true`;
    try {
      for (let copy = 0; copy < 3; copy++) {
        jest.isolateModules(() => {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const module = require('../../shared/adapters/service-bus/amqp-no-delay') as {
            noDelayForDevelopmentEndpoint(connectionString: string): void;
          };
          module.noDelayForDevelopmentEndpoint(connectionString);
        });
      }
      const socket: Socket = connect({ host: '127.0.0.1', port });
      const listeners = socket.listenerCount('connect');
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      // net.connect adds none of its own without a callback: what is counted is ours.
      expect(listeners).toBe(1);
    } finally {
      server.close();
    }
  });
});
