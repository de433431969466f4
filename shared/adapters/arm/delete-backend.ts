/**
 * The DELETE of a backend (If-Match `*` unless the caller pins an ETag). A send whose outcome is unknown is checked
 * before it is sent again: a backend already gone means our earlier DELETE landed, reported as a plain success.
 */
import type { ArmResult } from '../../app/arm-ports';
import type { CallState } from './arm-call';
import type { ArmContext } from './arm-context';
import { isArmError } from './arm-error';
import { readBack, resendAfterCheck, sendCheckingOutcome } from './retry-policy';

export async function deleteBackend(
  ctx: ArmContext,
  call: CallState,
  url: string,
  ifMatch: string,
): Promise<ArmResult<undefined>> {
  const spec = { method: 'DELETE' as const, url, ifMatch, role: 'operation' as const, sends: 0 };
  let sent = await sendCheckingOutcome(ctx, call, spec);
  while (sent.kind === 'check') {
    const read = await readBack(ctx, call, 'GET', url);
    if (read.kind === 'answer' && read.status === 404) return call.ok(200, read.headers, undefined);
    sent = await resendAfterCheck(ctx, call, spec, sent);
  }
  return isArmError(sent) ? sent : call.resultOf(sent, undefined);
}
