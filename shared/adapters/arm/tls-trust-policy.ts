/**
 * Trusting one extra certificate authority (the local ARM emulator's self-signed certificate, or a TLS-inspecting
 * proxy's) on top of the system's, without ever turning certificate verification off — and without paying for the
 * system's roots on the first request.
 *
 * A context holding the ~145 system roots plus the extra CA costs about 32 ms of CPU to build (every root PEM is
 * parsed again), on the first request's path. The ARM endpoint behind an extra CA is nearly always signed by that
 * CA, so a connection is first verified against the extra CA alone (a context that costs one PEM parse); only when
 * that verification fails is the combined context built, once, and used from then on. Either way the server is
 * verified: a certificate neither the extra CA nor a system root vouches for is refused.
 */
import type { Duplex } from 'node:stream';
import { Agent, type AgentOptions } from 'node:https';
import { createSecureContext, rootCertificates, type SecureContext, type TLSSocket } from 'node:tls';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';

/** Name of the policy in the pipeline. */
export const tlsTrustPolicyName = 'armTlsTrustPolicy';

/** A policy plus the agent it owns, so the owner can close idle connections. */
export interface TlsTrustPolicy extends PipelinePolicy {
  readonly agent: Agent;
}

/** OpenSSL verification failures that another trust store might cure (not expiry, not a wrong host name). */
const UNTRUSTED_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);

type ConnectOptions = Parameters<Agent['createConnection']>[0] & { secureContext?: SecureContext };
type OnCreate = (error: Error | null, socket: Duplex) => void;

/** A keep-alive agent trusting the extra CA first and, only if a server needs it, the system roots too. */
class ExtraCaAgent extends Agent {
  private combined: SecureContext | undefined;

  constructor(
    private readonly caCertPem: string,
    options: AgentOptions,
  ) {
    super({ ...options, secureContext: createSecureContext({ ca: caCertPem }) });
  }

  /** The context with the system roots and the extra CA, built on first need. */
  private combinedContext(): SecureContext {
    return (this.combined ??= createSecureContext({ ca: [...rootCertificates, this.caCertPem] }));
  }

  // Node's http agent accepts a socket handed over later through the callback (the return value is then undefined).
  override createConnection(options: ConnectOptions, onCreate?: OnCreate): Duplex | undefined {
    const connect = (secureContext: SecureContext | undefined): TLSSocket =>
      super.createConnection(secureContext === undefined ? options : { ...options, secureContext }) as TLSSocket;
    if (this.combined !== undefined || onCreate === undefined) return connect(this.combined);
    const socket = connect(undefined);
    const settle = (error: Error | null, ready: Duplex): void => {
      socket.removeListener('secureConnect', onSecure);
      socket.removeListener('error', onError);
      onCreate(error, ready);
    };
    const onSecure = (): void => settle(null, socket);
    const onError = (error: Error & { code?: string }): void => {
      if (error.code === undefined || !UNTRUSTED_CODES.has(error.code)) {
        settle(error, socket);
        return;
      }
      // Not signed by the extra CA: from now on every connection trusts the system roots as well.
      socket.destroy();
      settle(null, connect(this.combinedContext()));
    };
    socket.once('secureConnect', onSecure);
    socket.once('error', onError);
    return undefined;
  }
}

/**
 * A policy that sends every request through one keep-alive https.Agent trusting the system roots plus `caCertPem`.
 * The agent is created once: connections are reused across requests, and no per-request allocation is made.
 */
export function tlsTrustPolicy(caCertPem: string): TlsTrustPolicy {
  const agent = new ExtraCaAgent(caCertPem, { keepAlive: true });
  return {
    name: tlsTrustPolicyName,
    agent,
    sendRequest(request, next) {
      request.agent ??= agent;
      return next(request);
    },
  };
}
