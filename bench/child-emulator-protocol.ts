/** The messages between the benchmark and its emulator child process (see emulator-child.ts). */

/** Counts of the requests the emulator logged. */
export interface RequestStats {
  total: number;
  /** Requests per answered status, e.g. `{ "200": 280, "429": 3 }`. */
  byStatus: Record<string, number>;
  /** Requests per HTTP method. */
  byMethod: Record<string, number>;
}

/** A command to the child. */
export interface ChildCommand {
  id: number;
  cmd: 'stats' | 'reset' | 'stop';
}

/** The child's answer to a command. */
export type ChildReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** The child's first message. */
export interface ChildReady {
  type: 'ready';
  url: string;
  caCertPem: string;
  token: string;
}
