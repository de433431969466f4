import type { Server, Socket } from 'node:net';
import rhea from 'rhea';
import { Consumer } from './consumer';
import { EntityRegistry, type Publisher } from './entity-registry';
import { toBrokerMessage } from './broker-message';
import { decodeForInspection, parseMessageContent, splitBatch, type MessageContent } from './message-content';
import type { MessageEntity } from './message-entity';
import { answerRequest, isRequestResponseAddress } from './request-response';
import {
  amqpMessage,
  amqpTypes,
  holdAttach,
  type AmqpErrorValue,
  type BrokerConnection,
  type BrokerEventContext,
  type BrokerReceiver,
  type BrokerSender,
  type IncomingDelivery,
  type OutgoingDelivery,
  type RemoteAttach,
} from './rhea-internals';
import type { SessionAcceptOutcome } from './session-store';
import type { AmqpBroker, BrokerMessage, BrokerOptions } from './types';

/** Message format of a batch: one data section per encoded message. */
const BATCH_FORMAT = 0x80013700;
const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;
/** How long stop() lets connections flush their close frame before cutting them. */
const CLOSE_GRACE_MS = 100;
/**
 * rhea keeps each session's unsettled deliveries in a ring of this size and only reclaims it from the
 * oldest end; the default (2048) would stall a receiver that holds one old lock while processing thousands.
 */
const SESSION_BUFFER_SIZE = 1 << 16;
const SESSION_FILTER = 'com.microsoft:session-filter';
const LOCKED_UNTIL_UTC = 'com.microsoft:locked-until-utc';
/** The link property in which a receiver says how long it waits for its attach (the SDK sends it for acceptNextSession). */
const CLIENT_TIMEOUT = 'com.microsoft:timeout';
/** How long an acceptNextSession waits for a session when the receiver does not say (Service Bus: 60 s). */
const DEFAULT_SESSION_WAIT_MS = 60_000;
/** .NET ticks (100 ns since 0001-01-01) at the Unix epoch: the encoding of `com.microsoft:locked-until-utc`. */
const TICKS_AT_UNIX_EPOCH = 621_355_968_000_000_000n;
const NOT_SESSIONLESS: AmqpErrorValue = {
  condition: 'amqp:not-allowed',
  description: 'It is not possible for an entity that requires sessions to create a non-sessionful message receiver.',
};

/** What a broker-side receiving link (a client sender) is attached to. */
type SenderTarget = { kind: 'entity'; publisher: Publisher } | { kind: 'request'; address: string };

interface ConsumerBinding {
  readonly consumer: Consumer;
  readonly entity: MessageEntity;
}

/**
 * Starts an in-process AMQP 1.0 broker that `@azure/service-bus` can use in development-emulator mode
 * (plain AMQP on 127.0.0.1): queues, topics with subscriptions, peek-lock/receive-and-delete, dead-letter
 * queues, lock expiry and max-delivery-count, and optional duplicate detection.
 */
export async function startAmqpBroker(options: BrokerOptions = {}): Promise<AmqpBroker> {
  const broker = new Broker(options);
  await broker.listen(options.port ?? 0);
  return broker;
}

class Broker implements AmqpBroker {
  port = 0;
  private readonly now = (): number => Date.now();
  private readonly registry: EntityRegistry;
  private readonly container = rhea.create_container({ id: 'local-amqp-broker' });
  private readonly maxMessageSize: number;
  private readonly targets = new WeakMap<BrokerReceiver, SenderTarget>();
  private readonly bindings = new WeakMap<BrokerSender, ConsumerBinding>();
  private readonly connections = new Map<BrokerConnection, Set<BrokerSender>>();
  /** Session receivers whose attach is not answered yet (waiting for a session). */
  private readonly heldAttaches = new WeakSet<BrokerSender>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;

  constructor(options: BrokerOptions) {
    this.registry = new EntityRegistry(options, this.now);
    this.maxMessageSize = options.maxMessageSizeBytes ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.wireEvents();
  }

  get connectionString(): string {
    return `Endpoint=sb://127.0.0.1:${this.port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true`;
  }

  async listen(port: number): Promise<void> {
    const server = this.container.listen({
      port,
      host: '127.0.0.1',
      // Settle client sends ourselves, once the message is stored.
      autoaccept: false,
      // Abandon (modified) and release are told apart by their own events.
      treat_modified_as_released: false,
      session_buffer_size: SESSION_BUFFER_SIZE,
    } as unknown as Parameters<typeof this.container.listen>[0]);
    server.on('connection', (socket: Socket) => {
      // AMQP is request/response in small frames: with Nagle on, a frame written while the previous one is unacked
      // waits for the client's delayed ACK (~40 ms), three times in a cold start's first publish.
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      server.once('error', onError);
      server.once('listening', () => {
        server.off('error', onError);
        resolve();
      });
    });
    // Errors after startup (e.g. a client resetting its socket) are per connection; never crash the host.
    server.on('error', () => undefined);
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of [...this.connections.keys()]) {
      this.dropConnection(connection);
      connection.close({ condition: 'amqp:connection:forced', description: 'The broker is shutting down.' });
    }
    // rhea writes the close frames on the next tick; then half-close, and cut whatever is still connected.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await this.socketsClosed(CLOSE_GRACE_MS);
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
    for (const entity of this.registry.entities()) entity.dispose();
  }

  /** Resolves when every client socket has closed, or after `timeoutMs`. */
  private socketsClosed(timeoutMs: number): Promise<void> {
    const pending = [...this.sockets].filter((socket) => !socket.closed);
    if (pending.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let open = pending.length;
      const timer = setTimeout(resolve, timeoutMs);
      const onClose = (): void => {
        if (--open === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      for (const socket of pending) {
        socket.once('close', onClose);
        socket.end();
      }
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.listen(this.port);
  }

  messages(entity: string): BrokerMessage[] {
    return this.inspect(entity);
  }

  deadLetters(entity: string): BrokerMessage[] {
    return this.inspect(`${entity}/$DeadLetterQueue`);
  }

  accepted(entity: string): number {
    return this.registry.publisher(entity)?.acceptedCount ?? 0;
  }

  private inspect(path: string): BrokerMessage[] {
    const entity = this.registry.receivable(path);
    if (!entity) throw new Error(`Unknown entity '${path}'`);
    return entity
      .snapshot()
      .map(({ message, fields }) => toBrokerMessage(decodeForInspection(message.content, fields), fields));
  }

  private wireEvents(): void {
    const c = this.container;
    const on = (event: string, handler: (context: BrokerEventContext) => void): void => {
      c.on(event, handler as never);
    };
    on('connection_open', (ctx) =>
      this.connections.set(ctx.connection, this.connections.get(ctx.connection) ?? new Set()),
    );
    on('connection_close', (ctx) => this.dropConnection(ctx.connection));
    on('disconnected', (ctx) => this.dropConnection(ctx.connection));
    on('session_close', (ctx) => this.dropSessionLinks(ctx));
    on('receiver_open', (ctx) => this.onClientSenderAttach(ctx.receiver as BrokerReceiver));
    on('sender_open', (ctx) => this.onClientReceiverAttach(ctx.connection, ctx.sender as BrokerSender));
    on('sender_close', (ctx) => this.onClientReceiverDetach(ctx.sender as BrokerSender));
    on('message', (ctx) => this.onMessage(ctx));
    on('sender_flow', (ctx) => this.onFlow(ctx.sender as BrokerSender));
    on('sendable', (ctx) => this.bindings.get(ctx.sender as BrokerSender)?.entity.pump());
    for (const outcome of ['accepted', 'rejected', 'released', 'modified']) {
      on(outcome, (ctx) => this.onDisposition(ctx.sender as BrokerSender, ctx.delivery as OutgoingDelivery));
    }
    // Link/session/connection errors are the client's business; without a listener rhea would throw.
    c.on('error', () => undefined);
    on('protocol_error', () => undefined);
  }

  private onClientSenderAttach(link: BrokerReceiver): void {
    const target = link.remote.attach?.target ?? {};
    const address = target.address ?? '';
    link.set_target(target);
    link.set_source(link.remote.attach?.source ?? {});
    link.local.attach.max_message_size = this.maxMessageSize;
    if (isRequestResponseAddress(address)) {
      this.targets.set(link, { kind: 'request', address });
      return;
    }
    const publisher = this.registry.publisher(address);
    if (!publisher) {
      link.close(notFound(address));
      return;
    }
    this.targets.set(link, { kind: 'entity', publisher });
  }

  private onClientReceiverAttach(connection: BrokerConnection, link: BrokerSender): void {
    const source = link.remote.attach?.source ?? {};
    const address = source.address ?? '';
    link.set_target(link.remote.attach?.target ?? {});
    link.local.attach.snd_settle_mode = link.remote.attach?.snd_settle_mode ?? 0;
    link.local.attach.rcv_settle_mode = link.remote.attach?.rcv_settle_mode ?? 0;
    const entity = isRequestResponseAddress(address) ? undefined : this.registry.receivable(address);
    const sessionFilter = readSessionFilter(source.filter);
    // A session receiver gets its source (carrying the granted session id) only when a session is granted.
    if (sessionFilter === undefined || !entity) link.set_source(source);
    if (isRequestResponseAddress(address)) return;
    if (!entity) {
      link.close(notFound(address));
      return;
    }
    if (sessionFilter === undefined && entity.settings.requiresSession) {
      link.close(NOT_SESSIONLESS);
      return;
    }
    const consumer = new Consumer(link);
    this.bindings.set(link, { consumer, entity });
    let links = this.connections.get(connection);
    if (!links) {
      links = new Set();
      this.connections.set(connection, links);
    }
    links.add(link);
    if (sessionFilter === undefined) {
      entity.addConsumer(consumer);
      return;
    }
    // Like Service Bus, answer a session receiver's attach only once it holds a session (or was refused one).
    holdAttach(link);
    this.heldAttaches.add(link);
    const waitMs = sessionWaitMs(link.remote.attach?.properties);
    entity.acceptSession(consumer, sessionFilter.sessionId, waitMs, (outcome) =>
      this.answerSessionAttach(link, address, outcome),
    );
  }

  /**
   * Answers a held session receiver attach: with the session id in the source filter and the session lock in
   * the link properties, as the SDK reads them; or refused, as an attach without source followed by a detach
   * carrying the reason (`com.microsoft:timeout` when no session became available).
   */
  private answerSessionAttach(link: BrokerSender, address: string, outcome: SessionAcceptOutcome): void {
    if (!this.heldAttaches.delete(link)) return;
    if (outcome.kind === 'refused') {
      this.unbind(link);
      link.open();
      link.close(outcome.error);
      return;
    }
    link.set_source({ address, filter: { [SESSION_FILTER]: outcome.sessionId } });
    link.local.attach.properties = { [LOCKED_UNTIL_UTC]: amqpTypes.wrap_long(toTicks(outcome.lockedUntil)) };
    link.open();
  }

  private onClientReceiverDetach(link: BrokerSender): void {
    this.unbind(link);
    // A receiver gave up waiting for a session: complete the handshake so its detach is answered.
    if (this.heldAttaches.delete(link)) link.open();
  }

  private onFlow(link: BrokerSender): void {
    const binding = this.bindings.get(link);
    if (!binding) return;
    binding.entity.pump();
    binding.consumer.completeDrainIfRequested();
  }

  private onDisposition(link: BrokerSender, delivery: OutgoingDelivery): void {
    const binding = this.bindings.get(link);
    if (binding) binding.entity.onDisposition(binding.consumer, delivery);
  }

  private onMessage(ctx: BrokerEventContext): void {
    const link = ctx.receiver;
    const delivery = ctx.delivery as IncomingDelivery | undefined;
    if (!link || !delivery) return;
    const target = this.targets.get(link);
    if (!target) {
      delivery.update(true, amqpMessage.rejected({ error: notFound('') }).described());
      return;
    }
    if (target.kind === 'request') {
      delivery.update(true, amqpMessage.accepted().described());
      if (!Buffer.isBuffer(ctx.message) && ctx.message) answerRequest(ctx.connection, target.address, ctx.message);
      return;
    }
    let contents: MessageContent[];
    try {
      contents = this.readContents(ctx);
    } catch (error) {
      const description = error instanceof Error ? error.message : String(error);
      const condition = error instanceof MessageTooLarge ? 'amqp:link:message-size-exceeded' : 'amqp:decode-error';
      delivery.update(true, amqpMessage.rejected({ error: { condition, description } }).described());
      return;
    }
    const refusal = target.publisher.refusal(contents);
    if (refusal) {
      delivery.update(true, amqpMessage.rejected({ error: refusal }).described());
      return;
    }
    for (const content of contents) target.publisher.publish(content);
    delivery.update(true, amqpMessage.accepted().described());
  }

  private readContents(ctx: BrokerEventContext): MessageContent[] {
    const message = ctx.message;
    if (Buffer.isBuffer(message)) {
      if (message.length > this.maxMessageSize) throw new MessageTooLarge(message.length, this.maxMessageSize);
      if (ctx.format !== BATCH_FORMAT) throw new Error(`Unsupported message format ${String(ctx.format)}`);
      return splitBatch(message).map(parseMessageContent);
    }
    // rhea hands plain messages over already decoded; encoding them again gives us the stored form.
    const encoded = amqpMessage.encode(message ?? {});
    if (encoded.length > this.maxMessageSize) throw new MessageTooLarge(encoded.length, this.maxMessageSize);
    return [parseMessageContent(encoded)];
  }

  private unbind(link: BrokerSender): void {
    const binding = this.bindings.get(link);
    if (!binding) return;
    this.bindings.delete(link);
    this.connections.get(link.connection)?.delete(link);
    binding.entity.removeConsumer(binding.consumer);
  }

  private dropSessionLinks(ctx: BrokerEventContext): void {
    const session = (ctx as { session?: unknown }).session;
    for (const link of [...(this.connections.get(ctx.connection) ?? [])]) {
      if (link.session === session) this.unbind(link);
    }
  }

  /** A client connection ended: its receivers' locked messages become available again. */
  private dropConnection(connection: BrokerConnection): void {
    const links = this.connections.get(connection);
    if (!links) return;
    this.connections.delete(connection);
    for (const link of [...links]) this.unbind(link);
  }
}

class MessageTooLarge extends Error {
  constructor(size: number, max: number) {
    super(`The message (${size} bytes) exceeds the maximum message size of ${max} bytes.`);
  }
}

function notFound(address: string): AmqpErrorValue {
  return { condition: 'amqp:not-found', description: `The messaging entity '${address}' could not be found.` };
}

/**
 * The session filter of a receiver attach: absent (undefined) for an ordinary receiver; `sessionId` undefined
 * for "the next available session" (the SDK sends the key with a null value).
 */
function readSessionFilter(filter: unknown): { sessionId: string | undefined } | undefined {
  if (typeof filter !== 'object' || filter === null || !(SESSION_FILTER in filter)) return undefined;
  const value: unknown = (filter as Record<string, unknown>)[SESSION_FILTER];
  return { sessionId: typeof value === 'string' ? value : undefined };
}

function sessionWaitMs(properties: RemoteAttach['properties']): number {
  const requested = properties?.[CLIENT_TIMEOUT];
  return typeof requested === 'number' && Number.isFinite(requested) && requested >= 0
    ? requested
    : DEFAULT_SESSION_WAIT_MS;
}

/** Epoch ms as .NET ticks in an 8-byte big-endian buffer (rhea encodes a Buffer as an AMQP long as is). */
function toTicks(epochMs: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(BigInt(Math.trunc(epochMs)) * 10_000n + TICKS_AT_UNIX_EPOCH);
  return buffer;
}
