import { z } from 'zod';

/** `?limit=` of an operator list route: an integer from 1 to 500, 50 when absent; one rule for every list. */
export const listLimitSchema = z
  .string()
  .regex(/^[0-9]+$/, 'expected an integer from 1 to 500')
  .transform(Number)
  .pipe(z.number().int().min(1).max(500))
  .default(50);
