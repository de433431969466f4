import rhea from 'rhea';
import { decodeBody, type DeliveryFields } from './message-content';
import type { DecodedMessage } from './rhea-internals';
import type { BrokerMessage } from './types';

/** Maps a stored message, decoded as a receiver would see it, to the inspection view. */
export function toBrokerMessage(decoded: DecodedMessage, fields: DeliveryFields): BrokerMessage {
  const props = { ...(decoded.application_properties ?? {}) };
  const deadLetterReason = props['DeadLetterReason'];
  const deadLetterErrorDescription = props['DeadLetterErrorDescription'];
  return {
    ...(decoded.message_id !== undefined ? { messageId: idToString(decoded.message_id) } : {}),
    ...(decoded.correlation_id !== undefined ? { correlationId: idToString(decoded.correlation_id) } : {}),
    ...(decoded.group_id !== undefined ? { sessionId: decoded.group_id } : {}),
    ...(decoded.content_type !== undefined ? { contentType: decoded.content_type } : {}),
    ...(decoded.subject !== undefined ? { subject: decoded.subject } : {}),
    body: decodeBody(decoded.body),
    applicationProperties: props,
    deliveryCount: fields.deliveryCount,
    enqueuedTime: new Date(fields.enqueuedTime),
    sequenceNumber: fields.sequenceNumber,
    ...(typeof deadLetterReason === 'string' ? { deadLetterReason } : {}),
    ...(typeof deadLetterErrorDescription === 'string' ? { deadLetterErrorDescription } : {}),
  };
}

/** Message ids may be strings, numbers, UUIDs (Buffers) or binary. */
function idToString(id: unknown): string {
  if (typeof id === 'string') return id;
  if (typeof id === 'number' || typeof id === 'bigint') return id.toString();
  if (Buffer.isBuffer(id)) return id.length === 16 ? rhea.uuid_to_string(id) : id.toString('hex');
  return JSON.stringify(id);
}
