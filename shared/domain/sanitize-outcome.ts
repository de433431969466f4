import { capErrorBody } from './contract/error-cap';
import type { Outcome } from './contract/outcome';
import { outcomeScrubber, scrubbableSecrets } from './redact';

/**
 * The last step before an outcome leaves the engine (answer, record, event, log): secrets redacted by path, every
 * encoding of the request's own secret values scrubbed from what ARM sent back (`backend`, `error`, `plan`: ARM may
 * echo a credential in a message or copy it into another field), and the error bounded in size. The identifying
 * fields (requestId, target, ETags) are left alone: they are ours or ARM's, never a secret, and must stay exact.
 */
export function sanitizeOutcome(outcome: Outcome, request: unknown): Outcome {
  // The forms of the request's secrets are computed once for the three parts.
  const { scrub, redactAndScrub } = outcomeScrubber(scrubbableSecrets(request));
  const out: Outcome = { ...outcome };
  if (out.backend !== undefined) out.backend = redactAndScrub(out.backend);
  if (out.plan !== undefined) out.plan = scrub(out.plan);
  if (out.error !== undefined) out.error = capErrorBody(redactAndScrub(out.error));
  return out;
}
