/**
 * The script a cold-start child runs (`node -e PROBE <bundle> <change request JSON>`): it stands in for the Functions
 * worker — supplies `@azure/functions-core` (as `scripts/measure-startup.ts`'s probe does), requires the bundle, and invokes
 * `backendChanges` the way the worker does: the programming model the bundle registered turns an RPC invocation into
 * a real `HttpRequest` and `InvocationContext`, then calls the handler. It prints one JSON line when the handler has
 * answered (after the result event was published) and exits at once.
 */
export const COLD_START_PROBE = `
const Module = require('node:module');
const registered = new Map();
let model;
const core = {
  setProgrammingModel(m) { model = m; },
  registerHook() { return { dispose() {} }; },
  registerFunction(metadata, handler) { registered.set(metadata.name, { metadata, handler }); return { dispose() {} }; },
  log() {},
};
const load = Module._load;
Module._load = function (request, parent, isMain) {
  return request === '@azure/functions-core' ? core : load.call(this, request, parent, isMain);
};
(async () => {
  require(process.argv[1]);
  const ready = performance.now();
  const fn = registered.get('backendChanges');
  if (fn === undefined || model === undefined) throw new Error('backendChanges was not registered');
  const triggerName = Object.keys(fn.metadata.bindings).find((name) => /trigger$/i.test(fn.metadata.bindings[name].type));
  const invocationId = 'cold-start-' + process.pid;
  const invocation = model.getInvocationModel({
    invocationId,
    metadata: fn.metadata,
    request: {
      invocationId,
      triggerMetadata: {},
      inputData: [{ name: triggerName, data: { http: {
        method: 'POST',
        url: 'http://localhost:7071/api/backend-changes',
        headers: { 'content-type': 'application/json' },
        body: { string: process.argv[2] },
        params: {},
        query: {},
      } } }],
    },
    log() {},
  });
  const { context, inputs } = await invocation.getArguments();
  const response = await invocation.invokeFunction(context, inputs, fn.handler);
  const answered = performance.now();
  let body = response && response.jsonBody;
  process.stdout.write(JSON.stringify({ timeOrigin: performance.timeOrigin, readyMs: ready, answeredMs: answered, status: response && response.status,
    outcomeStatus: body && body.status, requestId: body && body.requestId }) + '\\n', () => process.exit(0));
})().catch((error) => { console.error(error); process.exit(1); });
`;
