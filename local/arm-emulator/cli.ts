/**
 * Runs the ARM emulator from the command line:
 *   npx tsx local/arm-emulator/cli.ts [--port 8443] [--token T] [--ca-file .arm-emulator-ca.pem] [--page-size N]
 *     [--throttle-writes CAPACITY/REFILL_PER_SECOND] [--throttle-reads CAPACITY/REFILL_PER_SECOND]
 * Writes the certificate PEM to the CA file, prints the URL, token and environment variables, and stops on
 * SIGINT/SIGTERM. Requests are not printed (bodies carry secrets, and printing would slow benchmarks).
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startArmEmulator } from './index';
import type { ArmEmulatorOptions, BucketOptions } from './types';

function parseBucket(flag: string, text: string | undefined): BucketOptions | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(text);
  if (!m) throw new Error(`${flag} expects CAPACITY/REFILL_PER_SECOND, e.g. 200/10`);
  return { capacity: Number(m[1]), refillPerSecond: Number(m[2]) };
}

function parsePositiveInteger(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new Error(`${flag} expects a non-negative integer`);
  return Number(text);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      token: { type: 'string' },
      'ca-file': { type: 'string', default: '.arm-emulator-ca.pem' },
      'page-size': { type: 'string' },
      'throttle-writes': { type: 'string' },
      'throttle-reads': { type: 'string' },
    },
  });
  const options: ArmEmulatorOptions = { port: parsePositiveInteger('--port', values.port) ?? 0 };
  if (values.token !== undefined) options.token = values.token;
  const pageSize = parsePositiveInteger('--page-size', values['page-size']);
  if (pageSize !== undefined) options.pageSize = pageSize;
  const writes = parseBucket('--throttle-writes', values['throttle-writes']);
  const reads = parseBucket('--throttle-reads', values['throttle-reads']);
  if (writes || reads) options.throttle = { ...(writes && { writes }), ...(reads && { reads }) };

  const emulator = await startArmEmulator(options);
  const caFile = resolve(values['ca-file']);
  await writeFile(caFile, emulator.caCertPem, { mode: 0o644 });

  process.stdout.write(
    [
      `ARM emulator listening on ${emulator.url}`,
      `bearer token: ${emulator.token}`,
      `CA certificate: ${caFile}`,
      '',
      'Environment for the app:',
      `  export ARM_ENDPOINT=${emulator.url}`,
      `  export ARM_ACCESS_TOKEN=${emulator.token}`,
      `  export ARM_CA_CERT_FILE=${caFile}`,
      '',
      'Ctrl+C to stop.',
      '',
    ].join('\n'),
  );

  const shutdown = (signal: string): void => {
    process.stdout.write(`${signal}: stopping\n`);
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`arm-emulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
