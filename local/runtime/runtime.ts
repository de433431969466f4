import type { Telemetry } from '../../shared/app/telemetry-ports';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvocationContext, type Timer } from '@azure/functions';
import {
  isServiceBusError,
  ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
  type ServiceBusSessionReceiver,
} from '@azure/service-bus';
import { Cron } from 'croner';
import { functionRegistrations, type FunctionRegistration } from '../../functions/registrations';
import { createServices, type AppServices } from '../../functions/composition-root';
import { loadConfig } from '../../shared/config/settings';
import { loadTriggerSettings } from '../../shared/config/trigger-settings';
import type { AmqpBroker } from '../amqp-broker';
import type { ArmEmulator, ArmEmulatorOptions } from '../arm-emulator';
import type { Azurite } from '../azurite';
import { startEmulatorStack } from '../emulator-stack';
import { matchRoute } from './route-template';
import { FUNCTIONS_KEY_HEADER, hasMasterKey, newMasterKey } from './admin-key';
import { BodyTooLargeError, readBody } from './body-reader';
import { toHttpRequest, writeHttpResponse, writeJson } from './http-bridge';

/**
 * Session mode (CHANGE_REQUESTS_SESSIONS=true) runs this many session loops per session-enabled queue trigger:
 * up to this many backends are changed in parallel, each strictly one change at a time (the Functions host's
 * default `maxConcurrentSessions` is 8 too).
 */
const SESSION_CONCURRENCY = 8;
/** A session loop lets go of a session after this long without a message, to serve other backends. */
const SESSION_IDLE_MS = 1000;
/** How long one acceptNextSession waits for a session with messages before the loop asks again. */
const SESSION_ACCEPT_WAIT_MS = 2000;
/** How long stop() waits for session loops to finish the message in hand. */
const SESSION_STOP_WAIT_MS = 10_000;
/** With a real Service Bus namespace, renew a held session's lock for up to this long (the SDK's default). */
const SESSION_LOCK_RENEWAL_MS = 5 * 60_000;
/** The longest the admin API waits for the function it runs before answering 202 (it then runs on). */
const ADMIN_WAIT_MS = 5_000;
/** Pause after an unexpected receiver failure (e.g. broker unavailable) before accepting again. */
const SESSION_RETRY_DELAY_MS = 1000;

/** Options of the local runtime. Settings not given come from `process.env`. */
export interface RuntimeOptions {
  /** App settings (as in local.settings.json `Values`); merged over process.env. */
  settings?: Record<string, string | undefined>;
  /** HTTP port; default the PORT setting or 7071; 0 = ephemeral. */
  port?: number;
  /** Where function logs go; default console. */
  log?: (line: string) => void;
  /** Options for the embedded ARM emulator when one is started. */
  emulator?: ArmEmulatorOptions;
  /** Print every result event published to the embedded broker (a `console` subscription of the topic). */
  printEvents?: boolean;
  /** Telemetry to use instead of the one the settings choose (tests: an in-memory exporter). */
  telemetry?: Telemetry;
  /** The admin API's master key; default a new random one (printed by `npm start`). */
  masterKey?: string;
}

/** A running local runtime. */
export interface LocalRuntime {
  url: string;
  settings: Record<string, string | undefined>;
  services: AppServices;
  emulator: ArmEmulator | undefined;
  broker: AmqpBroker | undefined;
  azurite: Azurite | undefined;
  registrations: FunctionRegistration[];
  /** The master key the admin API requires in `x-functions-key`. */
  masterKey: string;
  /** Runs a non-HTTP function now, like the host's admin API. */
  runFunction(name: string, input?: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs the app on this machine the way the Functions host would: HTTP functions under `/api/…`, the queue trigger
 * fed by the real Service Bus receiver (peekLock; complete on success, abandon on throw), timers on their NCRONTAB
 * schedule, and `POST /admin/functions/{name}`. Starts the ARM emulator unless ARM_ENDPOINT is set, the embedded
 * AMQP broker unless a ServiceBusConnection is set, and Azurite (the ledger's storage) unless AzureWebJobsStorage
 * names a real account.
 */
export async function startLocalRuntime(options: RuntimeOptions = {}): Promise<LocalRuntime> {
  const settings: Record<string, string | undefined> = { ...process.env, ...options.settings };
  const log = options.log ?? ((line: string) => console.log(line));
  const masterKey = options.masterKey ?? newMasterKey();
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => log(`[runtime] stop step failed: ${String(error)}`));
    }
  };

  try {
    // Settings fail fast before anything starts; the stand-ins cannot change what they name.
    const config = loadConfig(settings);
    const storage = settings['AzureWebJobsStorage'];
    const stack = await startEmulatorStack({
      arm: settings['ARM_ENDPOINT'] ? false : (options.emulator ?? {}),
      azurite: !storage || /UseDevelopmentStorage=true/i.test(storage) ? {} : false,
      broker:
        settings['ServiceBusConnection'] || settings['ServiceBusConnection__fullyQualifiedNamespace']
          ? false
          : {
              queues: [
                {
                  name: config.changeRequestsQueue,
                  maxDeliveryCount: config.maxDeliveryCount,
                  requiresSession: config.sessions,
                },
                ...(config.circuitBreaker.queue === undefined
                  ? []
                  : [{ name: config.circuitBreaker.queue, maxDeliveryCount: config.maxDeliveryCount }]),
              ],
              topics: [{ name: config.resultsTopic, subscriptions: ['all', 'console'] }],
              duplicateDetection: true,
            },
    });
    cleanups.push(() => stack.stop());
    Object.assign(settings, stack.settings);
    const { emulator, azurite, broker } = stack;
    // The ledger is then this runtime's in-memory Azurite and ends with it: its records are fingerprinted under a
    // throwaway key rather than with the keyless scrypt fallback (~13 ms of CPU per request carrying a secret, and a
    // warning). A key of your own (LEDGER_FINGERPRINT_KEY) is kept.
    if (azurite !== undefined && !settings['LEDGER_FINGERPRINT_KEY']?.trim()) {
      settings['LEDGER_FINGERPRINT_KEY'] = randomBytes(32).toString('base64');
    }

    // Binding expressions (%NAME%) resolve from app settings; give the ones with documented defaults their default,
    // as the deployment's app settings do (see README, Deploy).
    settings['CHANGE_REQUESTS_QUEUE'] ??= config.changeRequestsQueue;
    settings['RESULTS_TOPIC'] ??= config.resultsTopic;
    const services = createServices(loadConfig(settings), options.telemetry);
    cleanups.push(() => services.close());
    const registrations = functionRegistrations(() => services, loadTriggerSettings(settings));
    const resolve = (value: string): string =>
      value.replace(/%([A-Za-z0-9_]+)%/g, (_, name: string) => settings[name] ?? '');

    const context = (fn: FunctionRegistration, triggerMetadata: Record<string, unknown> = {}): InvocationContext => {
      const invocationId = randomUUID();
      return new InvocationContext({
        invocationId,
        functionName: fn.name,
        triggerMetadata,
        logHandler: (level, ...args) => log(`[${fn.name}] ${level}: ${args.map(String).join(' ')}`),
      });
    };

    const runFunction = async (name: string, input = ''): Promise<void> => {
      const fn = registrations.find((r) => r.name.toLowerCase() === name.toLowerCase());
      if (fn === undefined) throw new Error(`No function named ${name}`);
      if (fn.kind === 'timer') {
        const now = new Date().toISOString();
        const timer: Timer = {
          isPastDue: false,
          schedule: { adjustForDST: true },
          scheduleStatus: { last: now, next: now, lastUpdated: now },
        };
        await fn.handler(timer, context(fn));
      } else if (fn.kind === 'serviceBusQueue') {
        await fn.handler(input, context(fn, { messageId: randomUUID(), deliveryCount: 1 }));
      } else if (fn.kind === 'eventGrid') {
        await runEventGrid(fn, input === '' ? [] : (JSON.parse(input) as unknown));
      } else {
        throw new Error(`${name} is an HTTP function; call it over HTTP`);
      }
    };

    // Event Grid triggers: the host invokes the function once per event of a delivery (array or single event).
    const runEventGrid = async (fn: FunctionRegistration & { kind: 'eventGrid' }, delivery: unknown): Promise<void> => {
      for (const event of Array.isArray(delivery) ? delivery : [delivery]) await fn.handler(event, context(fn));
    };

    // Queue triggers: the real Service Bus receiver.
    // Reconnect within a second or two after the broker comes back (the SDK's default first retry waits 30 s).
    const sbClient = new ServiceBusClient(settings['ServiceBusConnection'] ?? '', {
      retryOptions: { retryDelayInMs: 500, maxRetryDelayInMs: 5_000 },
    });
    cleanups.push(() => sbClient.close());
    // Session receivers get their own client: its operation timeout is how long acceptNextSession long-polls,
    // which bounds how long stop() waits for an idle session loop.
    const sessionClient = new ServiceBusClient(settings['ServiceBusConnection'] ?? '', {
      retryOptions: { timeoutInMs: SESSION_ACCEPT_WAIT_MS, retryDelayInMs: 500, maxRetryDelayInMs: 5_000 },
    });
    cleanups.push(() => sessionClient.close());
    const receivers: ServiceBusReceiver[] = [];
    const sessionLoops: Array<Promise<void>> = [];
    const stopSessions = new AbortController();
    for (const fn of registrations) {
      if (fn.kind !== 'serviceBusQueue') continue;
      const handler = fn.handler;
      const processMessage = async (message: ServiceBusReceivedMessage): Promise<void> => {
        // The Functions host (.NET SDK) counts deliveries from 1; the JS SDK reports the AMQP header, which starts at 0.
        const meta: Record<string, unknown> = {
          messageId: message.messageId,
          deliveryCount: (message.deliveryCount ?? 0) + 1,
        };
        if (message.correlationId !== undefined) meta['correlationId'] = message.correlationId;
        if (message.enqueuedTimeUtc !== undefined) meta['enqueuedTimeUtc'] = message.enqueuedTimeUtc.toISOString();
        if (message.sessionId !== undefined) meta['sessionId'] = message.sessionId;
        // As the Functions host passes them: the trace context (Diagnostic-Id, traceparent) and, for a trigger on a
        // dead-letter queue, the dead-letter fields.
        if (message.applicationProperties !== undefined) meta['applicationProperties'] = message.applicationProperties;
        if (message.deadLetterReason !== undefined) meta['deadLetterReason'] = message.deadLetterReason;
        if (message.deadLetterErrorDescription !== undefined) {
          meta['deadLetterErrorDescription'] = message.deadLetterErrorDescription;
        }
        if (message.deadLetterSource !== undefined) meta['deadLetterSource'] = message.deadLetterSource;
        await handler(message.body, context(fn, meta));
      };
      const queueName = resolve(fn.trigger.queueName);
      if (fn.trigger.isSessionsEnabled) {
        for (let i = 0; i < SESSION_CONCURRENCY; i++) {
          sessionLoops.push(
            runSessionLoop({
              client: sessionClient,
              queueName,
              processMessage,
              // The embedded broker keeps a session locked while its link is open and has no $management to renew
              // it; Service Bus expires the lock, and another consumer taking over mid-change would break the order.
              lockRenewalMs: broker === undefined ? SESSION_LOCK_RENEWAL_MS : 0,
              log: (line) => log(`[${fn.name}] ${line}`),
              signal: stopSessions.signal,
            }),
          );
        }
        continue;
      }
      const receiver = sbClient.createReceiver(queueName, {
        receiveMode: 'peekLock',
        // Against Service Bus, renew the lock while a change runs (up to the function timeout), as the host does; the
        // embedded broker has no $management to renew with, and its lock outlasts the local deadline anyway.
        maxAutoLockRenewalDurationInMs: broker === undefined ? SESSION_LOCK_RENEWAL_MS : 0,
      });
      receivers.push(receiver);
      receiver.subscribe(
        {
          processMessage,
          processError: async (args) => {
            log(`[${fn.name}] ${args.errorSource}: ${args.error.message}`);
            return Promise.resolve();
          },
        },
        { autoCompleteMessages: true, maxConcurrentCalls: 16 },
      );
    }
    cleanups.push(async () => {
      stopSessions.abort(new Error('The local runtime is stopping.'));
      await settledWithin(Promise.all(sessionLoops), SESSION_STOP_WAIT_MS);
    });
    if (broker !== undefined && options.printEvents === true) {
      const events = sbClient.createReceiver(config.resultsTopic, 'console', { receiveMode: 'receiveAndDelete' });
      receivers.push(events);
      events.subscribe({
        processMessage: (message) => {
          log(`[result event] ${JSON.stringify(message.body, null, 2)}`);
          return Promise.resolve();
        },
        processError: (args) => {
          log(`[result event] ${args.error.message}`);
          return Promise.resolve();
        },
      });
    }
    cleanups.push(async () => {
      for (const receiver of receivers) await receiver.close();
    });

    // Timers.
    const crons: Cron[] = [];
    for (const fn of registrations) {
      if (fn.kind !== 'timer') continue;
      const schedule = resolve(fn.trigger.schedule);
      if (schedule === '') continue;
      const name = fn.name;
      crons.push(
        new Cron(schedule, { protect: true }, () => {
          runFunction(name).catch((error: unknown) => log(`[${name}] failed: ${String(error)}`));
        }),
      );
    }
    cleanups.push(() => {
      for (const cron of crons) cron.stop();
      return Promise.resolve();
    });

    // HTTP: /api/<route> and the admin API. Admin invocations run in the background; stop() waits for them a while.
    const background = new Set<Promise<void>>();
    const server: Server = createServer((req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (error instanceof BodyTooLargeError && !res.headersSent) {
          // Stop reading: answer now and close the connection rather than drain what is left of the body.
          res.setHeader('connection', 'close');
          writeJson(res, 413, { error: { code: 'PayloadTooLarge', message: error.message } });
          return;
        }
        log(`[runtime] request failed: ${String(error)}`);
        if (!res.headersSent) writeJson(res, 500, { error: { code: 'InternalError', message: 'Internal error' } });
        else res.end();
      });
    });
    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const admin = /^\/admin\/functions\/([^/]+)$/.exec(path);
      if (admin && req.method === 'POST') {
        // As the Functions host: the admin API needs the master key, whatever WEBHOOK_SECRETS or auth levels say.
        if (!hasMasterKey(req, masterKey)) {
          writeJson(res, 401, {
            error: { code: 'Unauthorized', message: `Send the master key in ${FUNCTIONS_KEY_HEADER}.` },
          });
          return;
        }
        let input = '';
        try {
          const parsed = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8') || '{}') as { input?: unknown };
          input = typeof parsed.input === 'string' ? parsed.input : '';
        } catch (error) {
          if (error instanceof BodyTooLargeError) throw error;
          /* the host ignores a malformed admin body too */
        }
        const name = decodeURIComponent(admin[1] ?? '');
        if (!registrations.some((r) => r.name.toLowerCase() === name.toLowerCase() && r.kind !== 'http')) {
          writeJson(res, 404, { error: { code: 'NotFound', message: `No non-HTTP function named ${name}` } });
          return;
        }
        // Accepted (202) once the function finished, or after ADMIN_WAIT_MS while it goes on in the background: a
        // queue function failing transiently retries ARM until its deadline, and the caller is not held for that (it
        // was once answered after 178 s). Quick functions (a cleanup sweep) have finished when the answer comes.
        const run = runFunction(name, input)
          .catch((error: unknown) => log(`[${name}] admin invocation failed: ${String(error)}`))
          .finally(() => background.delete(run));
        background.add(run);
        await settledWithin(run, ADMIN_WAIT_MS);
        res.writeHead(202).end();
        return;
      }
      if (path === '/runtime/webhooks/eventgrid' && req.method === 'POST') {
        await eventGridWebhook(req, res);
        return;
      }
      for (const fn of registrations) {
        if (fn.kind !== 'http' || !(fn.trigger.methods as string[]).includes(req.method ?? '')) continue;
        const params = matchRoute(fn.trigger.route, path);
        if (params === undefined) continue;
        const request = await toHttpRequest(req, baseUrl, config.maxBodyBytes, params);
        const response = await fn.handler(request, context(fn));
        await writeHttpResponse(res, response);
        return;
      }
      writeJson(res, 404, { error: { code: 'NotFound', message: 'No function at this route' } });
    };
    // The host's Event Grid endpoint (what an Event Grid subscription to a function calls): the validation
    // handshake is answered here, notifications run the function once per event; a failure asks for redelivery.
    const eventGridWebhook = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const name = url.searchParams.get('functionName') ?? '';
      const fn = registrations.find((r) => r.kind === 'eventGrid' && r.name.toLowerCase() === name.toLowerCase());
      if (fn?.kind !== 'eventGrid') {
        writeJson(res, 404, { error: { code: 'NotFound', message: `No Event Grid function named ${name}` } });
        return;
      }
      let delivery: unknown;
      try {
        delivery = JSON.parse(await (await toHttpRequest(req, baseUrl, config.maxBodyBytes)).text());
      } catch {
        writeJson(res, 400, { error: { code: 'InvalidJson', message: 'The body is not JSON.' } });
        return;
      }
      const first = (Array.isArray(delivery) ? delivery[0] : delivery) as { eventType?: unknown; data?: unknown };
      if (first?.eventType === 'Microsoft.EventGrid.SubscriptionValidationEvent') {
        const code = (first.data as { validationCode?: unknown } | undefined)?.validationCode;
        writeJson(res, 200, { validationResponse: code });
        return;
      }
      try {
        await runEventGrid(fn, delivery);
        res.writeHead(202).end();
      } catch (error) {
        log(`[${fn.name}] failed: ${String(error)}`);
        writeJson(res, 500, { error: { code: 'FunctionFailed', message: 'The function failed; Event Grid retries.' } });
      }
    };
    const port = options.port ?? Number(settings['PORT'] ?? 7071);
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolveListen());
    });
    cleanups.push(
      () =>
        new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          server.closeAllConnections();
        }),
    );
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    cleanups.push(() => settledWithin(Promise.all(background), SESSION_STOP_WAIT_MS));

    return {
      url: baseUrl,
      settings,
      services,
      emulator,
      broker,
      azurite,
      registrations,
      masterKey,
      runFunction,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

interface SessionLoopOptions {
  client: ServiceBusClient;
  queueName: string;
  processMessage: (message: ServiceBusReceivedMessage) => Promise<void>;
  /** `maxAutoLockRenewalDurationInMs` of the session receivers (0: never renew, no $management calls). */
  lockRenewalMs: number;
  log: (line: string) => void;
  signal: AbortSignal;
}

/**
 * One session consumer of a session-enabled queue, as the Functions host runs them: lock the next session that
 * has messages, process its messages one at a time in order (complete on success, abandon on throw, so a failed
 * change is retried before any later change of the same backend), and let go of the session once it has been idle
 * for {@link SESSION_IDLE_MS}. Ends when `signal` aborts, after the message in hand.
 *
 * Sessions are for when the order of changes to one backend matters (e.g. a pipeline sends successive updates of
 * the same backend): changes to one backend are applied strictly in order, one at a time, while different backends
 * proceed in parallel; the cost is throughput per backend.
 */
async function runSessionLoop(options: SessionLoopOptions): Promise<void> {
  const { client, queueName, log, signal } = options;
  while (!signal.aborted) {
    let receiver: ServiceBusSessionReceiver;
    try {
      receiver = await client.acceptNextSession(queueName, {
        receiveMode: 'peekLock',
        maxAutoLockRenewalDurationInMs: options.lockRenewalMs,
      });
    } catch (error) {
      if (signal.aborted) return;
      // No session with messages within the wait (or another consumer got it first): ask again.
      if (isServiceBusError(error) && (error.code === 'ServiceTimeout' || error.code === 'SessionCannotBeLocked')) {
        continue;
      }
      log(`session receiver: ${errorMessage(error)}`);
      await sleep(SESSION_RETRY_DELAY_MS, signal);
      continue;
    }
    try {
      while (!signal.aborted) {
        const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: SESSION_IDLE_MS });
        if (message === undefined) break;
        try {
          await options.processMessage(message);
        } catch (error) {
          log(`processMessageCallback: ${errorMessage(error)}`);
          await receiver.abandonMessage(message);
          continue;
        }
        await receiver.completeMessage(message);
      }
    } catch (error) {
      // The session is lost (lock or connection): whatever was not settled comes back for the next holder, in order.
      if (!signal.aborted) log(`session ${String(receiver.sessionId)}: ${errorMessage(error)}`);
    } finally {
      await receiver.close().catch((error: unknown) => log(`closing session receiver: ${errorMessage(error)}`));
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolveSleep) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolveSleep();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    if (signal.aborted) done();
  });
}

/** Waits for `work` to settle, but no longer than `ms`. */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolveBound) => {
    timer = setTimeout(resolveBound, ms);
  });
  await Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    bound,
  ]);
  clearTimeout(timer);
}
