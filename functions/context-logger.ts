import type { InvocationContext } from '@azure/functions';
import type { Logger } from '../shared/app/logger-ports';

/** The invocation's logger as the domain's {@link Logger}: one line per event, properties as JSON. */
export function contextLogger(context: InvocationContext): Logger {
  const line = (message: string, props?: Record<string, unknown>): string =>
    props === undefined ? message : `${message} ${JSON.stringify(props)}`;
  return {
    info: (message, props) => context.log(line(message, props)),
    warn: (message, props) => context.warn(line(message, props)),
    error: (message, props) => context.error(line(message, props)),
  };
}
