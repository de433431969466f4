/**
 * `npm start`: runs the whole product on this machine (see local/runtime/runtime.ts). Settings come from the
 * environment and, when present, from local.settings.json `Values` (as `func start` reads them).
 */
import { existsSync, readFileSync } from 'node:fs';
import { demoBackends } from './demo-backends';
import { startLocalRuntime } from './runtime/runtime';

function localSettings(): Record<string, string> {
  if (!existsSync('local.settings.json')) return {};
  const parsed = JSON.parse(readFileSync('local.settings.json', 'utf8')) as { Values?: Record<string, string> };
  return parsed.Values ?? {};
}

async function main(): Promise<void> {
  // Environment wins over the file, as with the Functions host.
  const settings = { ...localSettings(), ...process.env } as Record<string, string | undefined>;
  const runtime = await startLocalRuntime({ settings, printEvents: true, emulator: { seed: demoBackends() } });
  const s = runtime.settings;
  const lines = [
    '',
    'apim-backend-changes is running locally.',
    `  HTTP functions   ${runtime.url}/api/backend-changes  (POST; no function key needed locally)`,
    `  Admin API        ${runtime.url}/admin/functions/{name}  (POST {"input": ""} runs a non-HTTP function)`,
    `                   master key (header x-functions-key): ${runtime.masterKey}`,
    `  ARM              ${s['ARM_ENDPOINT']}${runtime.emulator ? '  (embedded emulator, token ' + runtime.emulator.token + ', CA ' + s['ARM_CA_CERT_FILE'] + ')' : ''}`,
    `  Service Bus      ${runtime.broker ? 'embedded AMQP broker on 127.0.0.1:' + runtime.broker.port : 'from ServiceBusConnection'}`,
    `                   queue ${runtime.services.config.changeRequestsQueue}, topic ${runtime.services.config.resultsTopic}${runtime.broker ? ' (subscription "all")' : ''}`,
    `  Ledger           ${runtime.azurite ? 'Azurite (in memory) at ' + runtime.azurite.tableUrl : 'AzureWebJobsStorage'}, table ${runtime.services.config.ledger.tableName}; status: GET ${runtime.url}/api/backend-changes/{requestId}`,
    `  Circuit breaker  ${runtime.url}/api/circuit-breaker-events (webhook: POST, OPTIONS; history: GET ?backend=)`,
    `                   ${runtime.url}/runtime/webhooks/eventgrid?functionName=circuitBreakerEvents (Event Grid trigger)`,
    `                   CIRCUIT_BREAKER_ACTION=${runtime.services.config.circuitBreaker.action}; demo pool ${demoBackends()[3]!.id}`,
    `  Functions        ${runtime.registrations.map((r) => `${r.name} (${r.kind})`).join(', ')}`,
    '',
    'Try it:',
    `  curl -s -X POST ${runtime.url}/api/backend-changes -H 'content-type: application/json' -d '{"operation":"createOrUpdate","target":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1/backends/proxybackend","body":{"properties":{"description":"description5308","url":"https://backendname2644/","protocol":"http"}}}'`,
    '',
    'Result events published to the embedded broker are printed below.  Stop: Ctrl-C',
    '',
  ];
  console.log(lines.join('\n'));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping…');
    runtime.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
