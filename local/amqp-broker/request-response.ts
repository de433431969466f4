import { randomBytes } from 'node:crypto';
import { amqpMessage, type BrokerConnection, type DecodedMessage } from './rhea-internals';

/** The claims-based-security node: the SDK puts a token here before attaching to an entity. */
export const CBS_ADDRESS = '$cbs';
const MANAGEMENT_SUFFIX = '/$management';

/** True for the addresses of request/response nodes ($cbs and `<entity>/$management`). */
export function isRequestResponseAddress(address: string): boolean {
  return address === CBS_ADDRESS || address.toLowerCase().endsWith(MANAGEMENT_SUFFIX.toLowerCase());
}

/**
 * Answers a request sent to `$cbs` or an entity's `$management` node. Any token is accepted (202).
 * Management operations (peek, schedule, renew-lock, ...) are not implemented: they get 501 so the
 * SDK fails fast instead of waiting for a response that never comes.
 */
export function answerRequest(connection: BrokerConnection, address: string, request: DecodedMessage): void {
  const operation = request.application_properties?.['operation'];
  const response =
    address === CBS_ADDRESS
      ? { status: 202, description: 'Accepted' }
      : {
          status: 501,
          description: `The local AMQP broker does not implement the management operation '${String(operation)}'.`,
        };
  const replyTo = request.reply_to;
  if (replyTo === undefined) return;
  // The SDK names its response receiver link after `reply_to` (and may also use it as the link's target).
  const link = connection.find_sender(
    (sender) => sender.name === replyTo || sender.remote.attach?.target?.address === replyTo,
  );
  if (!link) return;
  const payload = amqpMessage.encode({
    correlation_id: request.message_id,
    application_properties: { 'status-code': response.status, 'status-description': response.description },
  });
  link.send(payload, randomBytes(8), 0);
}
