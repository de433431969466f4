import * as z from 'zod';

/** One entry of `error.details`: what was wrong, and where (a path from the request root). */
export const ErrorDetailSchema = z.object({
  code: z.string(),
  target: z.string().optional(),
  message: z.string(),
});

/** The ARM ErrorResponse body's `error`, used for ARM's own errors and for ours alike. */
export const ErrorBodySchema = z.object({
  code: z.string(),
  message: z.string(),
  target: z.string().optional(),
  details: z.array(ErrorDetailSchema).optional(),
});

export type ErrorDetail = z.infer<typeof ErrorDetailSchema>;
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
