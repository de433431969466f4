import rhea from 'rhea';

/**
 * The parts of rhea's runtime API the broker relies on that its bundled typings omit or type loosely
 * (section readers/writers, outcome constructors, link credit internals). Kept in one place so the
 * casts are audited once.
 */

/** An AMQP-typed value as produced by rhea's reader (or by the `wrap_*` helpers). */
export interface Typed {
  value: unknown;
  typecode?: number;
  descriptor?: Typed;
  described?(): Typed;
}

interface Reader {
  position: number;
  read(): Typed;
  remaining(): number;
}

interface Writer {
  write(o: Typed): void;
  toBuffer(): Buffer;
}

interface Composite {
  described(): Typed;
}

interface RheaTypes {
  Reader: new (buffer: Buffer) => Reader;
  Writer: new () => Writer;
  described(descriptor: Typed, value: Typed): Typed;
  wrap_ulong(value: number): Typed;
  wrap_long(value: number | Buffer): Typed;
  wrap_symbol(value: string): Typed;
  wrap_string(value: string): Typed;
  wrap_timestamp(value: number): Typed;
  wrap_uuid(value: Buffer): Typed;
  wrap_binary(value: Buffer): Typed;
  wrap_list(value: unknown[]): Typed;
  wrap_map(value: object): Typed;
  wrap_array(value: unknown[], code: number, descriptors?: unknown): Typed;
  wrap(value: unknown): Typed;
  Map32(items: Typed[]): Typed;
}

interface RheaMessageApi {
  encode(msg: object): Buffer;
  decode(buffer: Buffer): DecodedMessage;
  header(fields: object): Composite;
  accepted(): Composite;
  rejected(fields: { error?: AmqpErrorValue }): Composite;
  released(): Composite;
  modified(fields: { delivery_failed?: boolean; undeliverable_here?: boolean }): Composite;
  data_section(data: Buffer): unknown;
}

/** An AMQP error as carried in outcomes and detach/close frames. */
export interface AmqpErrorValue {
  condition: string;
  description?: string;
  info?: Record<string, unknown>;
}

/** The fields of a decoded rhea message the broker reads. */
export interface DecodedMessage {
  durable?: boolean;
  priority?: number;
  ttl?: number;
  first_acquirer?: boolean;
  delivery_count?: number;
  message_id?: unknown;
  correlation_id?: unknown;
  reply_to?: string;
  to?: string;
  subject?: string;
  content_type?: string;
  group_id?: string;
  application_properties?: Record<string, unknown>;
  message_annotations?: Record<string, unknown>;
  body?: unknown;
}

/** rhea's body `Section` (data / amqp-sequence), as left on `message.body` by decode. */
export interface BodySection {
  typecode: number;
  content: unknown;
  multiple?: boolean;
}

/** rhea's typed codec helpers. */
export const amqpTypes = rhea.types as unknown as RheaTypes;
/** rhea's message encode/decode and outcome constructors. */
export const amqpMessage = rhea.message as unknown as RheaMessageApi;

/** The outcome states a receiver can put on a disposition, as rhea unwraps them. */
export interface DispositionState {
  constructor: { composite_type?: string };
  error?: AmqpErrorValue;
  undeliverable_here?: boolean;
  delivery_failed?: boolean;
}

/** A delivery on one of the broker's sending links (messages going to a client receiver). */
export interface OutgoingDelivery {
  readonly id: number;
  readonly tag: Buffer;
  readonly remote_settled: boolean;
  readonly remote_state?: DispositionState;
  settled: boolean;
  update(settled: boolean, state?: Typed): void;
}

/** A delivery on one of the broker's receiving links (messages from a client sender). */
export interface IncomingDelivery {
  readonly id: number;
  update(settled: boolean, state?: Typed): void;
}

/** Fields of a remote attach the broker reads. */
export interface RemoteAttach {
  source?: { address?: string; filter?: unknown } | null;
  target?: { address?: string } | null;
  snd_settle_mode?: number | null;
  rcv_settle_mode?: number | null;
  properties?: Record<string, unknown> | null;
}

/** rhea's per-endpoint open/close bookkeeping (its `EndpointState`). */
interface EndpointState {
  local_open: boolean;
  open_requests: number;
}

interface LinkBase {
  readonly name: string;
  readonly remote: { attach?: RemoteAttach };
  local: {
    attach: {
      snd_settle_mode?: number;
      rcv_settle_mode?: number;
      max_message_size?: number;
      source?: unknown;
      properties?: Record<string, unknown>;
    };
  };
  readonly state: EndpointState;
  readonly connection: BrokerConnection;
  readonly session: { outgoing: { available(): number; next_pending_delivery: number } };
  set_source(fields: object): void;
  set_target(fields: object): void;
  open(): void;
  close(error?: AmqpErrorValue): void;
  is_open(): boolean;
  is_closed(): boolean;
}

/** The broker's end of a link on which it sends (a client receiver attached to it). */
export interface BrokerSender extends LinkBase {
  credit: number;
  delivery_count: number;
  _draining: boolean;
  _drained: boolean;
  _get_drain(): boolean;
  send(payload: Buffer, tag: Buffer, format: number): OutgoingDelivery;
  set_drained(drained: boolean): void;
}

/** The broker's end of a link on which it receives (a client sender attached to it). */
export type BrokerReceiver = LinkBase;

/** A server-side connection. */
export interface BrokerConnection {
  readonly options: { id: string };
  find_sender(filter: (sender: BrokerSender) => boolean): BrokerSender | undefined;
  close(error?: AmqpErrorValue): void;
  is_closed(): boolean;
  readonly socket?: { destroy(): void };
}

/** The context rhea passes to event handlers. */
export interface BrokerEventContext {
  connection: BrokerConnection;
  sender?: BrokerSender;
  receiver?: BrokerReceiver;
  delivery?: OutgoingDelivery | IncomingDelivery;
  message?: DecodedMessage | Buffer;
  format?: number;
}

/**
 * Withdraws the attach rhea queued in answer to a remote attach (it answers before the `*_open` event handlers
 * run). The link then stays half-attached until `link.open()` sends the answer, possibly with a close right
 * after it: how Service Bus holds a session receiver's attach until a session is available.
 */
export function holdAttach(link: { state: EndpointState }): void {
  if (link.state.local_open && link.state.open_requests > 0) {
    link.state.local_open = false;
    link.state.open_requests--;
  }
}
