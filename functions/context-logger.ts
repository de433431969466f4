import type { InvocationContext } from '@azure/functions';
import type { Logger } from '../shared/app/logger-ports';

/** The invocation's logger as the domain's {@link Logger}: one line per event, properties as JSON. */
export function contextLogger(context: InvocationContext): Logger {
  return new InvocationLogger(context);
}

/** One per invocation: methods on the prototype rather than three closures per request. */
class InvocationLogger implements Logger {
  constructor(private readonly context: InvocationContext) {}

  info(message: string, props?: Record<string, unknown>): void {
    this.context.log(line(message, props));
  }

  warn(message: string, props?: Record<string, unknown>): void {
    this.context.warn(line(message, props));
  }

  error(message: string, props?: Record<string, unknown>): void {
    this.context.error(line(message, props));
  }
}

/**
 * The process's logger, for work outside any invocation's own logger (the ARM client's retries in calls that bring
 * none): the Functions host collects the worker's console output into the app's logs.
 */
export const processLogger: Logger = {
  info: (message, props) => console.info(line(message, props)),
  warn: (message, props) => console.warn(line(message, props)),
  error: (message, props) => console.error(line(message, props)),
};

function line(message: string, props?: Record<string, unknown>): string {
  return props === undefined ? message : `${message} ${JSON.stringify(props)}`;
}
