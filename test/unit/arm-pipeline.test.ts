import type { AccessToken, GetTokenOptions } from '@azure/core-auth';
import {
  createHttpHeaders,
  createPipelineRequest,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { createArmPipeline } from '../../shared/adapters/arm/arm-pipeline';

const URL = 'https://management.example.com/subscriptions/s1?api-version=2024-05-01';
const HOUR = 3_600_000;

/** A credential handing out token-1, token-2, … and recording what it was asked. */
function countingCredential(now: () => number, lifetimeMs = HOUR) {
  const calls: Array<GetTokenOptions | undefined> = [];
  return {
    calls,
    getToken(_scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
      calls.push(options);
      return Promise.resolve({ token: `token-${calls.length}`, expiresOnTimestamp: now() + lifetimeMs });
    },
  };
}

/** An HTTP client answering from `answer` and recording the authorization and user agent of every send. */
function recordingClient(answer: (request: PipelineRequest, index: number) => PipelineResponse) {
  const sent: Array<{ authorization: string | undefined; userAgent: string | undefined }> = [];
  const client: HttpClient = {
    sendRequest(request) {
      sent.push({
        authorization: request.headers.get('authorization'),
        userAgent: request.headers.get('user-agent'),
      });
      return Promise.resolve(answer(request, sent.length - 1));
    },
  };
  return { client, sent };
}

const ok = (request: PipelineRequest): PipelineResponse => ({ status: 200, headers: createHttpHeaders(), request });

describe('the ARM send step', () => {
  it('gets a token once and reuses it, with the user agent core-rest-pipeline builds', async () => {
    const credential = countingCredential(Date.now);
    const pipeline = createArmPipeline({ credential, scopes: 'https://management.example.com/.default' });
    const { client, sent } = recordingClient(ok);
    for (let i = 0; i < 5; i++) await pipeline.sendRequest(client, createPipelineRequest({ url: URL }));
    expect(credential.calls).toHaveLength(1);
    expect(credential.calls[0]?.enableCae).toBe(true);
    expect(sent.map((s) => s.authorization)).toEqual(Array(5).fill('Bearer token-1'));
    expect(sent[0]?.userAgent).toMatch(/core-rest-pipeline/);
    expect(new Set(sent.map((s) => s.userAgent)).size).toBe(1);
  });

  it('refreshes a token that is about to expire, through the bearer policy', async () => {
    let clock = 1_000_000_000;
    const credential = countingCredential(() => clock, 10 * 60_000);
    const pipeline = createArmPipeline({ credential, scopes: 's/.default', now: () => clock });
    const { client, sent } = recordingClient(ok);
    await pipeline.sendRequest(client, createPipelineRequest({ url: URL }));
    clock += 9 * 60_000; // one minute before expiry: inside the refresh window
    const realNow = Date.now;
    Date.now = () => clock; // the bearer policy's token cycler reads Date.now
    try {
      // The cycler refreshes in the background and keeps using the still-valid token meanwhile.
      await pipeline.sendRequest(client, createPipelineRequest({ url: URL }));
      await new Promise((resolve) => setImmediate(resolve));
      await pipeline.sendRequest(client, createPipelineRequest({ url: URL }));
    } finally {
      Date.now = realNow;
    }
    expect(credential.calls).toHaveLength(2);
    expect(sent.map((s) => s.authorization)).toEqual(['Bearer token-1', 'Bearer token-1', 'Bearer token-2']);
  });

  it('answers a CAE claims challenge: a token for the claims, and the request sent again', async () => {
    const credential = countingCredential(Date.now);
    const pipeline = createArmPipeline({ credential, scopes: 's/.default' });
    const claims = Buffer.from('{"access_token":{"nbf":{"essential":true}}}').toString('base64');
    const { client, sent } = recordingClient((request, index) => {
      if (index !== 1) return ok(request);
      const headers = createHttpHeaders({
        'www-authenticate': `Bearer realm="", error="insufficient_claims", claims="${claims}"`,
      });
      return { status: 401, headers, request };
    });
    await pipeline.sendRequest(client, createPipelineRequest({ url: URL }));
    const response = await pipeline.sendRequest(client, createPipelineRequest({ url: URL }));
    expect(response.status).toBe(200);
    expect(credential.calls[1]?.claims).toBe(Buffer.from(claims, 'base64').toString());
    expect(sent.map((s) => s.authorization)).toEqual(['Bearer token-1', 'Bearer token-1', 'Bearer token-2']);
    // The claims token is used from then on.
    await pipeline.sendRequest(client, createPipelineRequest({ url: URL }));
    expect(sent[3]?.authorization).toBe('Bearer token-2');
  });

  it('passes a 401 without a challenge through as it is', async () => {
    const pipeline = createArmPipeline({ credential: countingCredential(Date.now), scopes: 's/.default' });
    const { client } = recordingClient((request) => ({ status: 401, headers: createHttpHeaders(), request }));
    expect((await pipeline.sendRequest(client, createPipelineRequest({ url: URL }))).status).toBe(401);
  });

  it('runs added policies in front of it, in order (hooks such as tracing)', async () => {
    const pipeline = createArmPipeline({ credential: countingCredential(Date.now), scopes: 's/.default' });
    const order: string[] = [];
    for (const name of ['first', 'second']) {
      pipeline.addPolicy({
        name,
        sendRequest: (request, next) => {
          order.push(name);
          return next(request);
        },
      });
    }
    const { client } = recordingClient(ok);
    await pipeline.sendRequest(client, createPipelineRequest({ url: URL }));
    expect(order).toEqual(['first', 'second']);
  });

  it('refuses to send a token over plain http, as the bearer policy does', async () => {
    const pipeline = createArmPipeline({ credential: countingCredential(Date.now), scopes: 's/.default' });
    const { client } = recordingClient(ok);
    await pipeline.sendRequest(client, createPipelineRequest({ url: URL }));
    await expect(
      pipeline.sendRequest(client, createPipelineRequest({ url: 'http://management.example.com/x' })),
    ).rejects.toThrow(/non-TLS/);
  });
});
