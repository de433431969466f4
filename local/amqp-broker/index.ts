export { startAmqpBroker } from './broker';
export type { AmqpBroker, BrokerMessage, BrokerOptions } from './types';
