import { amqpMessage, amqpTypes, type BodySection, type DecodedMessage, type Typed } from './rhea-internals';

/**
 * The immutable part of a message as a sender sent it. The bare message (properties, application
 * properties, body, footer) is kept as the sender's own bytes, so what a receiver gets back is exactly
 * what was sent (body type, numeric types, dates); only the header and message annotations are
 * re-encoded per delivery. Topic subscriptions share one instance.
 */
export interface MessageContent {
  /** Header fields other than delivery_count, copied onto every delivery. */
  readonly header: { durable?: boolean; priority?: number; ttl?: number };
  /** The sender's message-annotation map entries (alternating key, value), minus broker-owned keys. */
  readonly annotationItems: readonly Typed[];
  readonly propertiesBytes: Buffer;
  /** The application-properties map entries (alternating key, value), for re-encoding with dead-letter info. */
  readonly applicationPropertyItems: readonly Typed[];
  readonly applicationPropertiesBytes: Buffer;
  /** Body sections and footer. */
  readonly bodyBytes: Buffer;
  /** `message_id` as a string, for duplicate detection (undefined when absent). */
  readonly messageIdKey: string | undefined;
  /** Epoch ms from the sender's `x-opt-scheduled-enqueue-time` annotation, when set. */
  readonly scheduledEnqueueTime: number | undefined;
  /** The properties' `group-id`: what the SDK calls `sessionId` (undefined when absent). */
  readonly sessionId: string | undefined;
}

const HEADER = 0x70;
const DELIVERY_ANNOTATIONS = 0x71;
const MESSAGE_ANNOTATIONS = 0x72;
const PROPERTIES = 0x73;
const APPLICATION_PROPERTIES = 0x74;

const SYMBOLIC_SECTIONS: Record<string, number> = {
  'amqp:header:list': HEADER,
  'amqp:delivery-annotations:map': DELIVERY_ANNOTATIONS,
  'amqp:message-annotations:map': MESSAGE_ANNOTATIONS,
  'amqp:properties:list': PROPERTIES,
  'amqp:application-properties:map': APPLICATION_PROPERTIES,
};

const SCHEDULED_ENQUEUE_TIME = 'x-opt-scheduled-enqueue-time';

/** Annotations the broker sets itself on every delivery; a sender's values for them are ignored. */
const BROKER_ANNOTATIONS = new Set([
  'x-opt-sequence-number',
  'x-opt-enqueued-time',
  'x-opt-locked-until',
  'x-opt-lock-token',
  'x-opt-deadletter-source',
  'x-opt-message-state',
]);

const EMPTY: Buffer = Buffer.alloc(0);

function sectionCode(section: Typed): number | undefined {
  const value = section.descriptor?.value;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return SYMBOLIC_SECTIONS[value];
  return undefined;
}

function mapItems(section: Typed): Typed[] {
  return Array.isArray(section.value) ? (section.value as Typed[]) : [];
}

/** Splits an encoded AMQP message into the parts the broker stores. Throws on malformed input. */
export function parseMessageContent(encoded: Buffer): MessageContent {
  const reader = new amqpTypes.Reader(encoded);
  let header: MessageContent['header'] = {};
  const annotationItems: Typed[] = [];
  let propertiesBytes = EMPTY;
  let applicationPropertyItems: Typed[] = [];
  let applicationPropertiesBytes = EMPTY;
  let bodyStart = encoded.length;
  let messageIdKey: string | undefined;
  let scheduledEnqueueTime: number | undefined;
  let sessionId: string | undefined;
  while (reader.remaining() > 0) {
    const start = reader.position;
    const section = reader.read();
    const code = sectionCode(section);
    if (code === undefined || code > APPLICATION_PROPERTIES) {
      // Body (data / amqp-sequence / amqp-value) and footer run to the end of the message.
      bodyStart = start;
      break;
    }
    const bytes = encoded.subarray(start, reader.position);
    if (code === HEADER) {
      const decoded = amqpMessage.decode(bytes);
      header = {
        ...(decoded.durable !== undefined ? { durable: decoded.durable } : {}),
        ...(decoded.priority !== undefined ? { priority: decoded.priority } : {}),
        ...(decoded.ttl !== undefined ? { ttl: decoded.ttl } : {}),
      };
    } else if (code === MESSAGE_ANNOTATIONS) {
      const items = mapItems(section);
      for (let i = 0; i + 1 < items.length; i += 2) {
        const key = items[i]?.value;
        if (key === SCHEDULED_ENQUEUE_TIME) scheduledEnqueueTime = toEpochMs(items[i + 1]?.value);
        if (typeof key === 'string' && BROKER_ANNOTATIONS.has(key)) continue;
        annotationItems.push(items[i] as Typed, items[i + 1] as Typed);
      }
    } else if (code === PROPERTIES) {
      propertiesBytes = bytes;
      const properties = amqpMessage.decode(bytes);
      messageIdKey = messageIdToKey(properties.message_id);
      if (typeof properties.group_id === 'string') sessionId = properties.group_id;
    } else if (code === APPLICATION_PROPERTIES) {
      applicationPropertiesBytes = bytes;
      applicationPropertyItems = mapItems(section);
    }
    // Delivery annotations are hop-by-hop and are not stored.
  }
  return {
    header,
    annotationItems,
    propertiesBytes,
    applicationPropertyItems,
    applicationPropertiesBytes,
    bodyBytes: encoded.subarray(bodyStart),
    messageIdKey,
    scheduledEnqueueTime,
    sessionId,
  };
}

function toEpochMs(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  return undefined;
}

function messageIdToKey(id: unknown): string | undefined {
  if (id === undefined || id === null) return undefined;
  if (Buffer.isBuffer(id)) return `b:${id.toString('hex')}`;
  if (typeof id === 'string' || typeof id === 'number') return `s:${id}`;
  return `j:${JSON.stringify(id)}`;
}

/** What changes per delivery (or per dead-lettering) on top of the stored content. */
export interface DeliveryFields {
  deliveryCount: number;
  sequenceNumber: number;
  enqueuedTime: number;
  lockedUntil?: number;
  lockToken?: Buffer;
  deadLetter?: { source: string; reason?: string; description?: string };
}

function symbol(key: string): Typed {
  return amqpTypes.wrap_symbol(key);
}

/** Encodes a message for transfer to a receiver. */
export function encodeDelivery(content: MessageContent, fields: DeliveryFields): Buffer {
  const writer = new amqpTypes.Writer();
  writer.write(amqpMessage.header({ ...content.header, delivery_count: fields.deliveryCount }).described());
  const annotations: Typed[] = [
    ...content.annotationItems,
    symbol('x-opt-sequence-number'),
    amqpTypes.wrap_long(fields.sequenceNumber),
    symbol('x-opt-enqueued-time'),
    amqpTypes.wrap_timestamp(fields.enqueuedTime),
  ];
  if (fields.lockedUntil !== undefined) {
    annotations.push(symbol('x-opt-locked-until'), amqpTypes.wrap_timestamp(fields.lockedUntil));
  }
  if (fields.lockToken) annotations.push(symbol('x-opt-lock-token'), amqpTypes.wrap_uuid(fields.lockToken));
  if (fields.deadLetter) {
    annotations.push(symbol('x-opt-deadletter-source'), amqpTypes.wrap_string(fields.deadLetter.source));
  }
  writer.write(amqpTypes.described(amqpTypes.wrap_ulong(MESSAGE_ANNOTATIONS), amqpTypes.Map32(annotations)));
  const head = writer.toBuffer();
  const applicationProperties = fields.deadLetter
    ? encodeDeadLetterProperties(content, fields.deadLetter)
    : content.applicationPropertiesBytes;
  return Buffer.concat([head, content.propertiesBytes, applicationProperties, content.bodyBytes]);
}

/** Re-encodes the application properties with DeadLetterReason/DeadLetterErrorDescription, as Service Bus does. */
function encodeDeadLetterProperties(
  content: MessageContent,
  deadLetter: NonNullable<DeliveryFields['deadLetter']>,
): Buffer {
  const items: Typed[] = [];
  const src = content.applicationPropertyItems;
  for (let i = 0; i + 1 < src.length; i += 2) {
    const key = src[i]?.value;
    if (key === 'DeadLetterReason' || key === 'DeadLetterErrorDescription') continue;
    items.push(src[i] as Typed, src[i + 1] as Typed);
  }
  if (deadLetter.reason !== undefined) {
    items.push(amqpTypes.wrap_string('DeadLetterReason'), amqpTypes.wrap_string(deadLetter.reason));
  }
  if (deadLetter.description !== undefined) {
    items.push(amqpTypes.wrap_string('DeadLetterErrorDescription'), amqpTypes.wrap_string(deadLetter.description));
  }
  const writer = new amqpTypes.Writer();
  writer.write(amqpTypes.described(amqpTypes.wrap_ulong(APPLICATION_PROPERTIES), amqpTypes.Map32(items)));
  return writer.toBuffer();
}

/** Decodes a delivery the way a receiver would, for the inspection helpers. */
export function decodeForInspection(content: MessageContent, fields: DeliveryFields): DecodedMessage {
  return amqpMessage.decode(encodeDelivery(content, fields));
}

/**
 * Decodes a body like the SDK: a single data section holding JSON is parsed, other data stays a Buffer,
 * amqp-value is returned as is, amqp-sequence as its list(s).
 */
export function decodeBody(body: unknown): unknown {
  if (body !== null && typeof body === 'object' && 'typecode' in body && 'content' in body) {
    const section = body as BodySection;
    if (section.typecode === 0x75 && !section.multiple && Buffer.isBuffer(section.content)) {
      try {
        return JSON.parse(section.content.toString('utf8')) as unknown;
      } catch {
        return section.content;
      }
    }
    return section.content;
  }
  return body;
}

/** Splits a batch (message format 0x80013700): its data sections are each an encoded message. */
export function splitBatch(encoded: Buffer): Buffer[] {
  const reader = new amqpTypes.Reader(encoded);
  const messages: Buffer[] = [];
  while (reader.remaining() > 0) {
    const section = reader.read();
    if (sectionCode(section) === 0x75 && Buffer.isBuffer(section.value)) messages.push(section.value);
  }
  return messages;
}
