import { InvocationContext } from '@azure/functions';
import type { AmqpBroker } from '../../local/amqp-broker';
import type { ArmEmulator } from '../../local/arm-emulator';
import { startEmulatorStack } from '../../local/emulator-stack';
import { createServices, type AppServices } from '../../functions/composition-root';
import { loadConfig } from '../../shared/config/settings';

export const QUEUE = 'backend-change-requests';
export const TOPIC = 'backend-change-results';
export const EVENTS = `${TOPIC}/Subscriptions/all`;

/** A real ARM emulator (HTTPS) and a real AMQP broker, and the app's services wired to them. */
export interface Stack {
  emulator: ArmEmulator;
  broker: AmqpBroker;
  services: AppServices;
  settings: Record<string, string>;
  logs: string[];
  context(functionName: string, triggerMetadata?: Record<string, unknown>): InvocationContext;
  /** Result events published so far (the CloudEvent bodies), from the topic's `all` subscription. */
  events(): any[];
  stop(): Promise<void>;
}

/** Starts the stack. `settings` override the app settings; `ledger: false` runs without the change ledger. */
export async function startStack(
  settings: Record<string, string> = {},
  options: { ledger?: boolean } = {},
): Promise<Stack> {
  const stack = await startEmulatorStack({
    arm: {},
    azurite: options.ledger === false ? false : {},
    broker: {
      queues: [{ name: QUEUE, maxDeliveryCount: Number(settings['MAX_DELIVERY_COUNT'] ?? 10) }],
      topics: [{ name: TOPIC, subscriptions: ['all'] }],
      duplicateDetection: true,
    },
  });
  const emulator = stack.emulator!;
  const broker = stack.broker!;
  const all: Record<string, string> = {
    ...stack.settings,
    CHANGE_DEADLINE_SECONDS: '10',
    ARM_ATTEMPT_TIMEOUT_SECONDS: '5',
    ...settings,
  };
  const services = createServices(loadConfig(all));
  const logs: string[] = [];
  return {
    emulator,
    broker,
    services,
    settings: all,
    logs,
    context: (functionName, triggerMetadata = {}) =>
      new InvocationContext({
        invocationId: `inv-${Math.random().toString(16).slice(2)}`,
        functionName,
        triggerMetadata,
        logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
      }),
    events: () => broker.messages(EVENTS).map((m) => m.body as any),
    stop: async () => {
      await services.close();
      await stack.stop();
    },
  };
}

export const SUB = '00000000-0000-0000-0000-000000000000';
export const SERVICE_ID = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1`;
