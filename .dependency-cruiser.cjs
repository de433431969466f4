/**
 * Import rules, checked in `npm test` (`npm run lint:deps`). See README "Layout".
 *
 * - shared/ never imports functions/ or local/; nothing deployed imports local/, bench/, test/ or scripts/; no cycles.
 * - the layers inside shared/: shared/domain is pure (imports only itself, zod and computation-only built-ins);
 *   shared/app (the use cases) imports only the domain and itself; shared/adapters implement the app's ports and
 *   never import a use case or a trigger; functions/ composes everything.
 */

const DOMAIN = '^shared/domain/';

/** The app's port files: adapters implement them, so they may import their types (never a use case). */
const APP_PORTS = '^shared/app/[^/]*ports\\.ts$';

/** Node built-ins the domain may use: computation only (hashing, encoding), nothing that reaches the outside world. */
const PURE_CORE = '^(node:)?(crypto|buffer|util|url|string_decoder|assert|querystring)$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'shared-not-to-functions-or-local',
      comment: 'shared/ is the reusable core: it never reaches up into the function adapters or the dev runtime.',
      severity: 'error',
      from: { path: '^shared/' },
      to: { path: '^(functions|local)/' },
    },
    {
      name: 'deployed-not-to-dev-code',
      comment: 'Deployed code (functions/, shared/) never imports local/, bench/, test/ or scripts/.',
      severity: 'error',
      from: { path: '^(functions|shared)/' },
      to: { path: '^(local|bench|test|scripts)/' },
    },
    {
      name: 'no-circular',
      comment:
        'A cycle means two modules are one concept split in two, or a layer leaks. Cycles made only of type imports ' +
        'have no run-time effect and are tolerated (one remains: local/amqp-broker message-entity <-> session-store).',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'domain-imports-only-domain',
      comment: 'shared/domain is pure: it imports only shared/domain (and zod, and computation-only built-ins).',
      severity: 'error',
      from: { path: DOMAIN },
      to: {
        dependencyTypesNot: ['core'],
        pathNot: [DOMAIN, '(^|/)node_modules/zod/'],
      },
    },
    {
      name: 'domain-no-io-built-ins',
      comment: 'No fs, net, http, timers, child processes... in the domain: values in, values out.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { dependencyTypes: ['core'], pathNot: PURE_CORE },
    },
    {
      name: 'app-imports-domain-and-itself',
      comment: 'shared/app (the use cases) imports only the domain and its own ports; adapters are handed in.',
      severity: 'error',
      from: { path: '^shared/app/' },
      to: {
        dependencyTypesNot: ['core'],
        pathNot: ['^shared/app/', DOMAIN, '(^|/)node_modules/zod/'],
      },
    },
    {
      name: 'adapters-not-to-app-or-functions',
      comment: 'Adapters implement the ports; they never call back into the use cases or the triggers.',
      severity: 'error',
      from: { path: '^shared/adapters/' },
      to: { path: '^(shared/app|functions)/', pathNot: APP_PORTS },
    },
    {
      name: 'adapters-import-app-ports-as-types-only',
      comment: 'An adapter may name the port it implements (a type), nothing else of the app.',
      severity: 'error',
      from: { path: '^shared/adapters/' },
      to: { path: APP_PORTS, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    preserveSymlinks: true,
    exclude: { path: '^(dist|dist-package|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
