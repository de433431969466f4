/** What every step of one ARM client shares: built once per client, handed to each call's steps. */
import type { HttpClient } from '@azure/core-rest-pipeline';
import type { Clock } from '../../app/clock-ports';
import type { ArmPipeline } from './arm-pipeline';
import type { RetrySettings } from './retry-strategy';
import type { WriteLimiter } from './write-limiter';

export interface ArmContext {
  readonly pipeline: ArmPipeline;
  readonly httpClient: HttpClient;
  /**
   * True for our own HTTP client, which bounds each exchange by `request.timeout` and ends it at once on
   * `request.abortSignal`: an attempt then needs no AbortController, timer or listener of its own (they cost a fifth
   * of the client's CPU per request). A caller's client gets that guard around every attempt.
   */
  readonly clientBoundsAttempts: boolean;
  readonly clock: Clock;
  /** Jitter source in [0, 1). */
  readonly random: () => number;
  readonly perAttemptTimeoutMs: number;
  readonly retry: RetrySettings;
  readonly writeLimiter: WriteLimiter | undefined;
}
