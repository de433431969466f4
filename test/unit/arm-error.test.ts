/** The ARM client's one failure type: every failure a call ends with is an ArmError, and nothing else is. */
import { isArmError } from '../../shared/adapters/arm/arm-error';
import { createArmBackendClient } from '../../shared/adapters/arm/arm-client';
import { createArmCredential } from '../../shared/adapters/arm/credential';
import type { BackendTarget } from '../../shared/domain/backend-id';
import { createHttpHeaders, type HttpClient, type PipelineRequest } from '@azure/core-rest-pipeline';

const target: BackendTarget = {
  subscriptionId: 'sub',
  resourceGroupName: 'rg',
  serviceName: 'svc',
  backendId: 'b1',
};

function clientAnswering(answer: (request: PipelineRequest) => { status: number; body?: unknown } | Error) {
  const httpClient: HttpClient = {
    sendRequest: async (request) => {
      const got = answer(request);
      if (got instanceof Error) throw got;
      return {
        request,
        status: got.status,
        headers: createHttpHeaders(),
        ...(got.body === undefined ? {} : { bodyAsText: JSON.stringify(got.body) }),
      };
    },
  };
  return createArmBackendClient({
    endpoint: 'https://arm.test',
    apiVersion: '2024-05-01',
    credential: createArmCredential({ endpoint: 'https://arm.test', accessToken: 'static-test-token' }),
    httpClient,
    maxAttempts: 1,
  });
}

describe('isArmError', () => {
  it("is true for ARM's refusal, with ARM's error body passed through", async () => {
    const result = await clientAnswering(() => ({
      status: 400,
      body: { error: { code: 'ValidationError', message: 'bad url', details: [{ code: 'Url', message: 'm' }] } },
    })).get(target);
    expect(isArmError(result)).toBe(true);
    expect(result).toMatchObject({
      kind: 'armError',
      status: 400,
      error: { code: 'ValidationError', details: [{ code: 'Url' }] },
    });
  });

  it('is true for a failure without an answer (a thrown network error becomes a value, never a throw)', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const result = await clientAnswering(() => reset).get(target);
    expect(isArmError(result)).toBe(true);
    expect(result).toMatchObject({ kind: 'transient', code: 'UpstreamUnavailable' });
  });

  it('is false for a success, and for anything that is not a call result', async () => {
    const ok = await clientAnswering(() => ({ status: 200, body: { properties: {} } })).get(target);
    expect(ok.kind).toBe('ok');
    for (const value of [ok, undefined, null, 'armError', new Error('x'), { kind: 'answer' }]) {
      expect(isArmError(value)).toBe(false);
    }
  });
});
