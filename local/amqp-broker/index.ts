export { startAmqpBroker } from './broker';
export type { AmqpBroker, BrokerOptions } from './types';
