/**
 * The ARM client's send step: user agent, the extra-CA agent and the bearer token, without running
 * @azure/core-rest-pipeline's policy chain on every request.
 *
 * The chain costs a closure per policy and an async frame per policy per request, and the bearer policy an options
 * object, a token-cycler call and a result array — about 4.5 µs per request of a 43 µs overhead. Here the common case
 * (a token fresh enough that the bearer policy would only reuse it) is one header set and the HTTP client's send.
 * Every other case goes through core-rest-pipeline's own policies, so their behaviour is kept, not re-implemented:
 * - no token yet, or one inside the refresh window: the request goes through `bearerTokenAuthenticationPolicy`,
 *   whose token cycler fetches or refreshes it (and logs through core-rest-pipeline's logger, AZURE_LOG_LEVEL);
 * - a 401 with `WWW-Authenticate` (a CAE claims challenge): the answer is replayed to the bearer policy, which parses
 *   the challenge, gets a token for the claims and re-sends, exactly as in the full pipeline;
 * - the user agent string is the one `userAgentPolicy` builds (taken from its first request);
 * - errors are the HTTP client's `RestError`s, unchanged (no policy here catches or wraps them);
 * - `addPolicy` puts further policies (e.g. tracing) in front of this step: they then run per request as in a
 *   pipeline, in the order added.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import {
  bearerTokenAuthenticationPolicy,
  userAgentPolicy,
  type HttpClient,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
  type SendRequest,
} from '@azure/core-rest-pipeline';
import type { Agent } from 'node:https';

/** What the ARM client sends through: the one method of core-rest-pipeline's `Pipeline` it uses. */
export interface ArmPipeline {
  sendRequest(httpClient: HttpClient, request: PipelineRequest): Promise<PipelineResponse>;
  /** Runs `policy` per request in front of the lean step (for hooks such as tracing). */
  addPolicy(policy: PipelinePolicy): void;
}

/** How to build it. */
export interface ArmPipelineOptions {
  credential: TokenCredential;
  scopes: string;
  userAgentPrefix?: string | undefined;
  /** Set on requests that carry no agent (the extra-CA agent). */
  agent?: Agent | undefined;
  /** Now, in epoch ms (tests). Default Date.now. */
  now?: () => number;
}

/**
 * The bearer policy's token cycler refreshes a token 2 minutes before it expires (or after `refreshAfterTimestamp`);
 * until then it hands out the cached one. The fast path stops a little earlier, so it never serves a token the
 * cycler would have refreshed.
 */
const REFRESH_MARGIN_MS = 2 * 60_000 + 30_000;

/** Builds the send step for one ARM client. */
export function createArmPipeline(options: ArmPipelineOptions): ArmPipeline {
  const now = options.now ?? Date.now;
  let token: AccessToken | undefined;
  let authorization = '';
  let freshUntil = 0;
  // The credential as the bearer policy sees it: every token it gets is remembered for the fast path.
  const remembering: TokenCredential = {
    async getToken(scopes: string | string[], getOptions?: GetTokenOptions): Promise<AccessToken | null> {
      const got = await options.credential.getToken(scopes, getOptions);
      if (got !== null) {
        token = got;
        // As the bearer policy's own authorizeRequest sets it.
        authorization = `Bearer ${got.token}`;
        freshUntil = Math.min(got.expiresOnTimestamp - REFRESH_MARGIN_MS, got.refreshAfterTimestamp ?? Infinity);
      }
      return got;
    },
  };
  const bearer = bearerTokenAuthenticationPolicy({ credential: remembering, scopes: options.scopes });
  const agentOf = options.agent;
  const userAgent = userAgentPolicy(
    options.userAgentPrefix === undefined ? {} : { userAgentPrefix: options.userAgentPrefix },
  );
  let userAgentValue: string | undefined;
  const extra: PipelinePolicy[] = [];

  const authorized = (httpClient: HttpClient, request: PipelineRequest): Promise<PipelineResponse> => {
    if (agentOf !== undefined) request.agent ??= agentOf;
    const send: SendRequest = (r) => httpClient.sendRequest(r);
    if (token === undefined || now() >= freshUntil || !isHttps(request.url)) return bearer.sendRequest(request, send);
    request.headers.set('authorization', authorization);
    return httpClient.sendRequest(request).then((response) => {
      if (response.status !== 401 || !response.headers.has('www-authenticate')) return response;
      // A challenge (CAE claims): let the bearer policy handle it, its first send answered by this response.
      let first = true;
      return bearer.sendRequest(request, (r) => {
        if (!first) return send(r);
        first = false;
        return Promise.resolve(response);
      });
    });
  };

  const lean = (httpClient: HttpClient, request: PipelineRequest): Promise<PipelineResponse> => {
    if (userAgentValue === undefined) {
      return userAgent.sendRequest(request, (r) => {
        userAgentValue = r.headers.get('user-agent');
        return authorized(httpClient, r);
      });
    }
    if (!request.headers.has('user-agent')) request.headers.set('user-agent', userAgentValue);
    return authorized(httpClient, request);
  };

  return {
    sendRequest(httpClient, request) {
      if (extra.length === 0) return lean(httpClient, request);
      let next: SendRequest = (r) => lean(httpClient, r);
      for (let i = extra.length - 1; i >= 0; i--) {
        const policy = extra[i]!;
        const after = next;
        next = (r) => policy.sendRequest(r, after);
      }
      return next(request);
    },
    addPolicy(policy) {
      extra.push(policy);
    },
  };
}

function isHttps(url: string): boolean {
  return url.length > 8 && url.slice(0, 8).toLowerCase() === 'https://';
}
