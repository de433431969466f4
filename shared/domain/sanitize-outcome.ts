import { capErrorBody } from './contract/error-cap';
import type { Outcome } from './contract/outcome';
import { redactSecrets, scrubbableSecrets, scrubSecretValues } from './redact';

/**
 * The last step before an outcome leaves the engine (answer, record, event, log): secrets redacted by path, every
 * encoding of the request's own secret values scrubbed from what ARM sent back (`backend`, `error`, `plan`: ARM may
 * echo a credential in a message or copy it into another field), and the error bounded in size. The identifying
 * fields (requestId, target, ETags) are left alone: they are ours or ARM's, never a secret, and must stay exact.
 */
export function sanitizeOutcome(outcome: Outcome, request: unknown): Outcome {
  const secrets = scrubbableSecrets(request);
  const out: Outcome = { ...outcome };
  if (out.backend !== undefined) out.backend = scrubSecretValues(redactSecrets(out.backend), secrets);
  if (out.plan !== undefined) out.plan = scrubSecretValues(out.plan, secrets);
  if (out.error !== undefined) out.error = capErrorBody(scrubSecretValues(redactSecrets(out.error), secrets));
  return out;
}
