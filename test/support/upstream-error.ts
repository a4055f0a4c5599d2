import { expect } from 'vitest';
import { UpstreamError } from '../../src/lib/errors.ts';

/** The UpstreamError a client call failed with; the test fails if it resolved or failed otherwise. */
export async function upstreamErrorFrom(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}
