import { startAzurite, type Azurite } from '../../local/azurite';

/**
 * Starts a real Azurite Table service for the calling test file (beforeAll) and stops it after the file (afterAll).
 * Call at the top level of a test file; the returned function gives the running instance inside tests.
 */
export function useAzurite(): () => Azurite {
  let azurite: Azurite | undefined;
  beforeAll(async () => {
    azurite = await startAzurite({ startTimeoutMs: 20_000 });
  }, 30_000);
  afterAll(async () => {
    await azurite?.stop();
  }, 15_000);
  return () => {
    if (azurite === undefined) throw new Error('Azurite is not running (did beforeAll fail?)');
    return azurite;
  };
}
