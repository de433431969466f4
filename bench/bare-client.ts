/**
 * The limit: PUTs sent by a bare keep-alive HTTPS loop (`https.request`, no pipeline, no retries, no parsing), the
 * fastest this machine can push the same requests at the emulator.
 */
import { Agent, request } from 'node:https';

/** A minimal keep-alive PUT sender. */
export interface BareClient {
  /** PUTs `body` to `path` (path + query); resolves with the status once the answer is read, rejects on errors. */
  put(path: string, body: string): Promise<number>;
  close(): void;
}

/**
 * Creates the bare sender: one `https.Agent({ keepAlive: true, maxSockets, ca })`.
 *
 * @param baseUrl - the emulator's base URL.
 */
export function createBareClient(baseUrl: string, caCertPem: string, token: string, maxSockets: number): BareClient {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets, ca: caCertPem });
  const authorization = `Bearer ${token}`;
  return {
    put: (path, body) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path,
            method: 'PUT',
            agent,
            headers: {
              authorization,
              accept: 'application/json',
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.on('data', () => undefined); // read the answer, as a client must
            res.on('end', () => resolve(res.statusCode ?? 0));
            res.on('error', reject);
          },
        );
        req.setTimeout(30_000, () => req.destroy(new Error('bare PUT timed out')));
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}
