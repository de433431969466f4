/**
 * Write strategy: a PUT or PATCH on the caller's own ETag. The caller owns the precondition, so a 412 is their
 * answer, final. A send whose outcome is unknown is checked before it is sent again: a GET showing the desired
 * properties means the write already landed.
 */
import type { ArmResult } from '../../app/arm-ports';
import { isApplied } from '../../domain/desired-state';
import type { CallState } from './arm-call';
import { isSuccess } from './arm-codec';
import type { ArmContext } from './arm-context';
import { isArmError } from './arm-error';
import { readBack, resendAfterCheck, sendCheckingOutcome } from './retry-policy';

export async function writeOnCallerEtag(
  ctx: ArmContext,
  call: CallState,
  method: 'PUT' | 'PATCH',
  url: string,
  json: string,
  desired: unknown,
  ifMatch: string,
): Promise<ArmResult> {
  const spec = { method, url, body: json, ifMatch, role: 'operation' as const, sends: 0 };
  let sent = await sendCheckingOutcome(ctx, call, spec);
  while (sent.kind === 'check') {
    const read = await readBack(ctx, call, 'GET', url);
    if (read.kind === 'answer' && isSuccess(read.status) && isApplied(read.body, desired)) {
      return call.ok(read.status, read.headers, read.body);
    }
    sent = await resendAfterCheck(ctx, call, spec, sent);
  }
  return isArmError(sent) ? sent : call.resultOf(sent, sent.body);
}
