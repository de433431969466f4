/**
 * Node's on-disk compile cache (Node ≥ 22.1, `module.enableCompileCache`) for the modules loaded after start-up —
 * the lazily required Service Bus and Identity chunks, whose compilation otherwise blocks the first request for
 * ~30 ms each. Safe by construction: Node keys every entry by the V8 version, flags and the file's contents, and a
 * stale or foreign entry is rejected and the file compiled as usual. On Node 20 (no such function) this does
 * nothing. `NODE_DISABLE_COMPILE_CACHE=1` turns it off; the cache lives in the OS temp directory.
 */
import * as nodeModule from 'node:module';

const enable = (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache;
if (typeof enable === 'function') {
  try {
    enable();
  } catch {
    // A read-only temp directory: start without the cache.
  }
}
