/**
 * Write strategy: a PATCH, or a PUT of an existing backend, sent conditionally on the ETag the client knows (`known`,
 * read by the caller just before) or reads itself with HEAD — never `*`, which would overwrite a concurrent change
 * blindly. Every send carries a precondition, so at most one of them can apply: ARM refuses the others with 412.
 * - A send whose outcome is unknown is checked with a GET: the desired properties mean it landed; otherwise it is
 *   sent again on the ETag that GET saw.
 * - A 412 from another writer: re-read the ETag and re-apply after a jittered pause (`decideConcurrencyRetry`), until
 *   the deadline — the last writer wins, as an unconditional write would.
 */
import type { ArmResult } from '../../app/arm-ports';
import { isApplied } from '../../domain/desired-state';
import type { CallState } from './arm-call';
import { isSuccess, type Answer, type RequestSpec } from './arm-codec';
import type { ArmContext } from './arm-context';
import { isArmError, refusalBodyOf, type ArmError } from './arm-error';
import { pause, readBack, resendAfterCheck, sendCheckingOutcome, withoutQuery } from './retry-policy';
import { decideConcurrencyRetry } from './retry-strategy';

export async function writeOnReadEtag(
  ctx: ArmContext,
  call: CallState,
  method: 'PUT' | 'PATCH',
  url: string,
  json: string,
  desired: unknown,
  known: string | undefined,
): Promise<ArmResult> {
  let etag = known;
  for (let rounds = 1; ; rounds++) {
    if (etag === undefined) {
      const head = await readBack(ctx, call, 'HEAD', url);
      if (isArmError(head)) return head;
      if (!isSuccess(head.status)) return call.refused(head);
      if (head.headers.etag === undefined) {
        return call.refused(head, {
          code: 'MissingETag',
          message: 'ARM answered the ETag read without an ETag header.',
        });
      }
      etag = head.headers.etag;
    }
    const sent = await sendOnEtag(
      ctx,
      call,
      { method, url, body: json, ifMatch: etag, role: 'operation', sends: 0 },
      desired,
    );
    if (sent.kind !== 'answer') return sent;
    if (sent.status !== 412) return call.resultOf(sent, sent.body);

    const decision = decideConcurrencyRetry({
      rounds,
      now: ctx.clock.now(),
      deadline: call.deadline,
      random: ctx.random,
      settings: ctx.retry,
    });
    if (decision.action === 'giveUp') {
      call.lastStatus = 412;
      call.lastHeaders = sent.headers;
      call.lastArmError = refusalBodyOf(412, sent.error);
      return call.transient('Timeout');
    }
    call.logger?.warn('ARM write lost an ETag race; re-reading and re-applying', {
      method,
      url: withoutQuery(url),
      round: rounds,
      delayMs: decision.delayMs,
      correlationRequestId: call.correlationId,
    });
    if (!(await pause(ctx, call, decision.delayMs))) return call.aborted();
    etag = undefined;
  }
}

/** One round: sends `spec` until answered, checking an unknown outcome before each re-send. */
async function sendOnEtag(
  ctx: ArmContext,
  call: CallState,
  spec: RequestSpec,
  desired: unknown,
): Promise<Answer | ArmError | ArmResult> {
  let sent = await sendCheckingOutcome(ctx, call, spec);
  while (sent.kind === 'check') {
    const read = await readBack(ctx, call, 'GET', spec.url);
    if (read.kind === 'answer' && isSuccess(read.status)) {
      if (isApplied(read.body, desired)) return call.ok(read.status, read.headers, read.body);
      // Not applied: the re-send goes against the state this read saw.
      if (read.headers.etag !== undefined) spec.ifMatch = read.headers.etag;
    }
    sent = await resendAfterCheck(ctx, call, spec, sent);
  }
  return sent;
}
