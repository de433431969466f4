/**
 * Write strategy: a PUT without a precondition, for a backend that does not exist yet (ARM has no create-only
 * precondition for backends) or whose caller did not read its ETag (no extra read is spent on it).
 *
 * A send whose outcome is unknown is checked before it is sent again. If our attempt timed out, ARM may still be
 * processing it: while the backend does not exist, the check keeps reading for up to one attempt timeout, so a slow
 * first write that lands late is recognised instead of being written a second time.
 */
import type { ArmResult } from '../../app/arm-ports';
import { isApplied } from '../../domain/desired-state';
import type { CallState } from './arm-call';
import { isSuccess } from './arm-codec';
import type { ArmContext } from './arm-context';
import { isArmError } from './arm-error';
import { MIN_ATTEMPT_TIMEOUT_MS } from './attempt-timeout';
import { pause, readBack, resendAfterCheck, sendCheckingOutcome } from './retry-policy';

/** How often a create with an unknown outcome is re-read while waiting for a late answer to land. */
const CREATE_SETTLE_POLL_MS = 250;

/**
 * @param creates - the backend is known not to exist before this PUT: a read confirming the write answers 201.
 */
export async function putUnconditionally(
  ctx: ArmContext,
  call: CallState,
  url: string,
  json: string,
  desired: unknown,
  creates: boolean,
): Promise<ArmResult> {
  const spec = { method: 'PUT' as const, url, body: json, role: 'operation' as const, sends: 0 };
  let sent = await sendCheckingOutcome(ctx, call, spec);
  let created = creates;
  while (sent.kind === 'check') {
    // Only an attempt we abandoned can land late; a reset connection has either been applied or never will be.
    const window = call.lastSendTimedOut ? ctx.perAttemptTimeoutMs : 0;
    const settleBy = Math.min(ctx.clock.now() + window, call.deadline - MIN_ATTEMPT_TIMEOUT_MS);
    for (;;) {
      const read = await readBack(ctx, call, 'GET', url);
      if (read.kind !== 'answer') break;
      if (isSuccess(read.status) && isApplied(read.body, desired)) {
        // Our write created it when it did not exist before (known, or seen missing since): report what happened.
        return call.ok(created ? 201 : read.status, read.headers, read.body);
      }
      if (read.status === 404) created = true;
      // Someone else's backend, or still nothing after the window: send (again).
      if (read.status !== 404 || ctx.clock.now() + CREATE_SETTLE_POLL_MS > settleBy) break;
      if (!(await pause(ctx, call, CREATE_SETTLE_POLL_MS))) break;
    }
    sent = await resendAfterCheck(ctx, call, spec, sent);
  }
  return isArmError(sent) ? sent : call.resultOf(sent, sent.body);
}
