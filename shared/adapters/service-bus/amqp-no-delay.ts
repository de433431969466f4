/**
 * TCP_NODELAY on the Service Bus client's plain-TCP AMQP connection (the local emulator / development broker).
 *
 * AMQP sends small frames and waits for answers, the worst case for Nagle's algorithm: a frame written while the
 * previous one is unacknowledged waits for the peer's delayed ACK (~40 ms), three times during the first publish of a
 * cold start. rhea (under @azure/service-bus) sets TCP_NODELAY only when a receiver is attached or when its connection
 * options say `tcp_no_delay`, and @azure/core-amqp builds those options itself with no way to pass it through; the
 * SDK exposes no socket hook either. Node's public `net.client.socket` diagnostics channel announces every plain TCP
 * client socket, so the sockets to the Service Bus endpoint are switched to no-delay when they connect.
 * Over TLS (amqps, Azure) Node 20 announces no socket on that channel: there the SDK's defaults stay.
 */
import { channel } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

/**
 * The subscription belongs to the process (diagnostics channels are shared by every copy of this module: Jest's
 * context per test file, a bundle beside the sources), so its state hangs off the channel object itself under a
 * registry symbol: one subscriber and one `connect` listener per socket, however many copies are loaded.
 */
interface NoDelayState {
  endpoints: Set<string>;
}
const STATE_KEY = Symbol.for('apim-backend-changes.amqp-no-delay');
const socketChannel = channel('net.client.socket') as ReturnType<typeof channel> & {
  [STATE_KEY]?: NoDelayState;
};

function stateOf(): NoDelayState {
  let state = socketChannel[STATE_KEY];
  if (state === undefined) {
    const endpoints = new Set<string>();
    state = { endpoints };
    socketChannel[STATE_KEY] = state;
    socketChannel.subscribe((message: unknown) => {
      const socket = (message as { socket?: Socket }).socket;
      if (socket === undefined || typeof socket.setNoDelay !== 'function') return;
      socket.once('connect', () => {
        if (endpoints.has(`${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`)) socket.setNoDelay(true);
      });
    });
  }
  return state;
}

/**
 * Turns on TCP_NODELAY for plain TCP connections to the endpoint of `connectionString` (an
 * `Endpoint=sb://host:port;…;UseDevelopmentEmulator=true` one). Harmless for any other connection string.
 */
export function noDelayForDevelopmentEndpoint(connectionString: string): void {
  if (!/UseDevelopmentEmulator=true/i.test(connectionString)) return;
  const match = /Endpoint=sb:\/\/([^:/;]+)(?::(\d+))?/i.exec(connectionString);
  if (match === null) return;
  const host = match[1] === 'localhost' ? '127.0.0.1' : match[1]!;
  stateOf().endpoints.add(`${host}:${match[2] ?? '5672'}`);
}
