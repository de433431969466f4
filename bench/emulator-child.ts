/**
 * Entry of the child process that runs the ARM emulator for the benchmark, so the emulator and the client under test
 * do not share one event loop. Started by `startChildEmulator` with `node --import tsx` and an IPC channel.
 *
 * argv[2]: the emulator options as JSON. On start it sends `{ type: 'ready', url, caCertPem, token }`; then it answers
 * each `{ id, cmd }` message (`stats`, `reset`, `stop`) with `{ id, ok, result | error }`.
 */
import { startArmEmulator } from '../local/arm-emulator';
import type { ArmEmulatorOptions } from '../local/arm-emulator';
import type { ChildCommand, ChildReply, RequestStats } from './child-emulator-protocol';

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as ArmEmulatorOptions;
  const emulator = await startArmEmulator(options);

  const stats = (): RequestStats => {
    const byStatus: Record<string, number> = {};
    const byMethod: Record<string, number> = {};
    for (const entry of emulator.requests) {
      byStatus[entry.status] = (byStatus[entry.status] ?? 0) + 1;
      byMethod[entry.method] = (byMethod[entry.method] ?? 0) + 1;
    }
    return { total: emulator.requests.length, byStatus, byMethod };
  };

  const reply = (message: ChildReply): void => {
    process.send?.(message);
  };

  process.on('message', (raw: unknown) => {
    const command = raw as ChildCommand;
    const run = async (): Promise<unknown> => {
      switch (command.cmd) {
        case 'stats':
          return stats();
        case 'reset':
          emulator.reset();
          return null;
        case 'stop':
          await emulator.stop();
          return null;
      }
    };
    run().then(
      (result) => {
        reply({ id: command.id, ok: true, result });
        if (command.cmd === 'stop') process.disconnect?.();
      },
      (error: unknown) => reply({ id: command.id, ok: false, error: String(error) }),
    );
  });
  // The parent went away (crashed or killed): do not linger.
  process.on('disconnect', () => {
    void emulator.stop().finally(() => process.exit(0));
  });

  process.send?.({ type: 'ready', url: emulator.url, caCertPem: emulator.caCertPem, token: emulator.token });
}

main().catch((error: unknown) => {
  process.stderr.write(`emulator-child: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
