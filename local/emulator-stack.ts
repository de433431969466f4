/**
 * The local stand-ins for Azure, started together: the ARM emulator (HTTPS, its CA written to a file the app trusts
 * through ARM_CA_CERT_FILE), Azurite (the ledger's Table Storage) and the embedded AMQP broker (Service Bus). One
 * helper for `npm start`, the tests and the bench, so that each sets the app up the same way.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAmqpBroker, type AmqpBroker, type BrokerOptions } from './amqp-broker';
import { startArmEmulator, type ArmEmulator, type ArmEmulatorOptions } from './arm-emulator';
import { startAzurite, type Azurite, type StartAzuriteOptions } from './azurite';

/** What to start; a part left out (or `false`) is not started. */
export interface EmulatorStackOptions {
  arm?: ArmEmulatorOptions | false;
  azurite?: StartAzuriteOptions | false;
  broker?: BrokerOptions | false;
}

/** The running parts, and the app settings that point the app at them. */
export interface EmulatorStack {
  emulator: ArmEmulator | undefined;
  azurite: Azurite | undefined;
  broker: AmqpBroker | undefined;
  /**
   * ARM_ENDPOINT, ARM_ACCESS_TOKEN and ARM_CA_CERT_FILE for the emulator; AzureWebJobsStorage for Azurite;
   * ServiceBusConnection for the broker — each only when that part was started.
   */
  settings: Record<string, string>;
  /** Stops every part (the broker first, Azurite last) and removes the CA file. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the parts asked for, at the same time (Azurite, a child process, is the slow one). If one fails to start,
 * those already running are stopped before the error is thrown: nothing is left behind.
 */
export async function startEmulatorStack(options: EmulatorStackOptions): Promise<EmulatorStack> {
  const none = Promise.resolve(undefined);
  const started = await Promise.allSettled([
    options.arm === undefined || options.arm === false ? none : startArmEmulator(options.arm),
    options.azurite === undefined || options.azurite === false ? none : startAzurite(options.azurite),
    options.broker === undefined || options.broker === false ? none : startAmqpBroker(options.broker),
  ] as const);
  const [armResult, azuriteResult, brokerResult] = started;
  const emulator = armResult.status === 'fulfilled' ? armResult.value : undefined;
  const azurite = azuriteResult.status === 'fulfilled' ? azuriteResult.value : undefined;
  const broker = brokerResult.status === 'fulfilled' ? brokerResult.value : undefined;

  let caDir: string | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await broker?.stop();
    await emulator?.stop();
    await azurite?.stop();
    if (caDir !== undefined) rmSync(caDir, { recursive: true, force: true });
  };

  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) {
    await stop();
    throw failed.reason;
  }

  const settings: Record<string, string> = {};
  if (emulator !== undefined) {
    caDir = mkdtempSync(join(tmpdir(), 'apim-emulator-ca-'));
    const caFile = join(caDir, 'arm-emulator-ca.pem');
    writeFileSync(caFile, emulator.caCertPem);
    settings['ARM_ENDPOINT'] = emulator.url;
    settings['ARM_ACCESS_TOKEN'] = emulator.token;
    settings['ARM_CA_CERT_FILE'] = caFile;
  }
  if (azurite !== undefined) settings['AzureWebJobsStorage'] = azurite.connectionString;
  if (broker !== undefined) settings['ServiceBusConnection'] = broker.connectionString;
  return { emulator, azurite, broker, settings, stop };
}
