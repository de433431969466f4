/**
 * Starts the ARM emulator in a child process (see emulator-child.ts) and talks to it over IPC: the client under test
 * gets the parent's event loop to itself, as it would against a real ARM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ArmEmulatorOptions } from '../local/arm-emulator';
import type { ChildCommand, ChildReady, ChildReply, RequestStats } from './child-emulator-protocol';

/** The repository root: the child resolves `tsx` from here. */
export const ROOT = join(__dirname, '..');

const START_TIMEOUT_MS = 30_000;
const COMMAND_TIMEOUT_MS = 15_000;

/** A running emulator child. */
export interface ChildEmulator {
  url: string;
  caCertPem: string;
  token: string;
  /** Counts of the requests logged since the last reset (empty unless started with `logRequests: true`). */
  stats(): Promise<RequestStats>;
  /** Clears backends, the request log and refills the throttle buckets. */
  reset(): Promise<void>;
  /** Stops the emulator and waits for the child to exit. */
  stop(): Promise<void>;
}

/** Spawns a TypeScript entry under `node --import tsx` (plus `nodeArgs`), with an IPC channel. */
export function spawnTs(entry: string, args: string[], nodeArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/**
 * The next IPC message of `type` from a worker (`command`, when given, is sent once listening): rejects when the
 * worker exits first or after `timeoutMs`. `name` says whose worker in the errors.
 */
export function nextMessage<M extends { type: string }, T extends M['type']>(
  worker: ChildProcess,
  name: string,
  type: T,
  timeoutMs: number,
  command?: unknown,
): Promise<Extract<M, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} worker: no '${type}' in time`)), timeoutMs);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      reject(new Error(`${name} worker exited (${code}) before '${type}'`));
    };
    const onMessage = (message: M): void => {
      if (message.type !== type) return;
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve(message as Extract<M, { type: T }>);
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    if (command !== undefined) worker.send(command as object);
  });
}

/**
 * Starts the emulator in a child process. Rejects when the child does not report ready within 30 s.
 *
 * @param options - the emulator options (JSON-serialisable: no `now`).
 */
export function startChildEmulator(options: Omit<ArmEmulatorOptions, 'now'>): Promise<ChildEmulator> {
  const child = spawnTs(join(__dirname, 'emulator-child.ts'), [JSON.stringify(options)]);
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      for (const waiter of pending.values()) waiter.reject(new Error('emulator child exited'));
      pending.clear();
      resolve();
    }),
  );

  const send = (cmd: ChildCommand['cmd']): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (exited) {
        reject(new Error('emulator child exited'));
        return;
      }
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`emulator child did not answer ${cmd} within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.send({ id, cmd } satisfies ChildCommand);
    });

  return new Promise<ChildEmulator>((resolve, reject) => {
    const startTimer = setTimeout(() => {
      child.kill();
      reject(new Error(`emulator child did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(startTimer);
      reject(new Error(`emulator child exited with ${code} before it was ready`));
    });
    child.on('message', (raw: unknown) => {
      const message = raw as ChildReady | ChildReply;
      if ('type' in message) {
        clearTimeout(startTimer);
        resolve({
          url: message.url,
          caCertPem: message.caCertPem,
          token: message.token,
          stats: async () => (await send('stats')) as RequestStats,
          reset: async () => {
            await send('reset');
          },
          stop: async () => {
            if (!exited) {
              await send('stop').catch(() => child.kill());
              // A child that does not leave after stopping is killed.
              const killTimer = setTimeout(() => child.kill(), 5_000);
              await exit;
              clearTimeout(killTimer);
            }
          },
        });
        return;
      }
      const waiter = pending.get(message.id);
      if (waiter === undefined) return;
      pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(message.error));
    });
  });
}
