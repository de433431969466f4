/**
 * A worker process for the fault suite's kill -9 row: applies the HTTP change requests in CRASH_REQUESTS (JSON)
 * with the app's own services and engine, against the ARM endpoint, storage and broker in its environment, and is
 * killed with SIGKILL while its writes are in flight. CRASH_LEASE_MS shortens the ledger lease so the test need not
 * wait a whole deadline-plus-margin before resending. Prints `ready` once its services are built.
 */
import { processDeps, createServices } from '../../functions/composition-root';
import { loadConfig } from '../../shared/config/settings';
import { processChange } from '../../shared/app/process-change';
import { silentLogger } from '../../shared/app/logger-ports';

async function main(): Promise<void> {
  const requests = JSON.parse(process.env['CRASH_REQUESTS'] ?? '[]') as Array<{ requestId: string }>;
  const svc = createServices(loadConfig(process.env));
  const deps = { ...processDeps(svc, silentLogger), leaseMs: Number(process.env['CRASH_LEASE_MS'] ?? '8000') };
  process.stdout.write('ready\n');
  await Promise.all(
    requests.map((request) =>
      processChange(
        request,
        { fallbackRequestId: request.requestId, origin: 'http', onTransient: 'answer', onPublishFailure: 'defer' },
        deps,
      ),
    ),
  );
  process.stdout.write('done\n');
  await svc.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
