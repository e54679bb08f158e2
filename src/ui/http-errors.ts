import { PipelineError } from '../errors';

/** Errors the dashboard answers with a JSON body and an HTTP status, never a stack. */

/** 404: an unknown run, sweep or file. */
export class NotFound extends PipelineError {}

/** 403: a path that leads outside the runs folder, or a request for another host name. */
export class Forbidden extends PipelineError {}

export function httpStatusOf(err: unknown): number {
  if (err instanceof NotFound) return 404;
  if (err instanceof Forbidden) return 403;
  return 500;
}
