/**
 * A credential whose every token request is bounded by a timeout and by the request's abort signal.
 *
 * The bearer step asks the credential only when it holds no fresh token (its cache answers every other request), so
 * this costs nothing per request; it keeps a hung token endpoint from holding an attempt that our HTTP client bounds
 * only once the request is on the wire. The timeout rejects like an HTTP timeout (code `RequestTimeout`), so it is
 * retried the same way.
 */
import { AbortError } from '@azure/abort-controller';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { RestError } from '@azure/core-rest-pipeline';
import { REQUEST_TIMEOUT_CODE } from './node-https-client';

export function boundedCredential(credential: TokenCredential, timeoutMs: number): TokenCredential {
  return {
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      const outer = options?.abortSignal;
      if (outer?.aborted) return Promise.reject(new AbortError('The token request was aborted.'));
      const controller = new AbortController();
      return new Promise<AccessToken | null>((resolve, reject) => {
        const stop = (error: Error): void => {
          controller.abort();
          reject(error);
        };
        const onAbort = (): void => stop(new AbortError('The token request was aborted.'));
        const timer = setTimeout(
          () => stop(new RestError(`No token within ${timeoutMs} ms.`, { code: REQUEST_TIMEOUT_CODE })),
          timeoutMs,
        );
        outer?.addEventListener('abort', onAbort, { once: true });
        const settle = (): void => {
          clearTimeout(timer);
          outer?.removeEventListener('abort', onAbort);
        };
        credential.getToken(scopes, { ...options, abortSignal: controller.signal }).then(
          (token) => {
            settle();
            resolve(token);
          },
          (error: unknown) => {
            settle();
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    },
  };
}
