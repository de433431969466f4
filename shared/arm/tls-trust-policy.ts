/**
 * Trusting one extra certificate authority (the local ARM emulator's self-signed certificate) on top of the system's,
 * without ever turning certificate verification off.
 */
import { Agent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';

/** Name of the policy in the pipeline. */
export const tlsTrustPolicyName = 'armTlsTrustPolicy';

/** A policy plus the agent it owns, so the owner can close idle connections. */
export interface TlsTrustPolicy extends PipelinePolicy {
  readonly agent: Agent;
}

/**
 * A policy that sends every request through one keep-alive https.Agent trusting the system roots plus `caCertPem`.
 * The agent is created once: connections are reused across requests, and no per-request allocation is made.
 */
export function tlsTrustPolicy(caCertPem: string): TlsTrustPolicy {
  // One secure context built up front, instead of `ca` in the agent options: https.Agent folds every `ca` string
  // into its pool key on EVERY request (≈140 root PEMs, over 200 kB of concatenation per request, a third of the
  // CPU at 32 concurrent PUTs), and a fresh context per connection re-parses all the roots. Verification is unchanged.
  const secureContext = createSecureContext({ ca: [...rootCertificates, caCertPem] });
  const agent = new Agent({ secureContext, keepAlive: true });
  return {
    name: tlsTrustPolicyName,
    agent,
    sendRequest(request, next) {
      request.agent ??= agent;
      return next(request);
    },
  };
}
