/** Structured logging as a dependency. Never pass request bodies or secrets in `props`. */
export interface Logger {
  info(message: string, props?: Record<string, unknown>): void;
  warn(message: string, props?: Record<string, unknown>): void;
  error(message: string, props?: Record<string, unknown>): void;
}

/** A logger that drops everything (for callers that do not care). */
export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
