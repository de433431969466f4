/**
 * The deployment template (infra/azuredeploy.json) checked against the app itself: every setting the app needs is
 * set, the roles are the documented built-in ones plus a custom role with only the backend actions, and no key or
 * connection string of Service Bus or Storage appears anywhere. Settings are derived from shared/config.ts and the
 * function registrations, so a new setting without a default fails here until the template (or the list of
 * settings deliberately left out of Azure, with the reason) says what to do with it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigSchema, SETTING_NAMES } from '../../shared/config/settings-schema';
import { loadTriggerSettings } from '../../shared/config/trigger-settings';
import { functionRegistrations } from '../../functions/registrations';

type Json = Record<string, any>;
const root = join(__dirname, '..', '..');
const templateText = readFileSync(join(root, 'infra', 'azuredeploy.json'), 'utf8');
const template = JSON.parse(templateText) as Json;
const parametersFile = JSON.parse(readFileSync(join(root, 'infra', 'azuredeploy.parameters.json'), 'utf8')) as Json;

/** Every resource, nested deployments' templates included. */
function allResources(resources: Json[] = template['resources']): Json[] {
  return resources.flatMap((r) => [r, ...allResources(r['properties']?.['template']?.['resources'] ?? [])]);
}
const resources = allResources();
const ofType = (type: string) => resources.filter((r) => r['type'] === type);
const site = ofType('Microsoft.Web/sites')[0]!;
const appSettings = new Map<string, string>(
  (site['properties']['siteConfig']['appSettings'] as Json[]).map((s) => [s['name'], String(s['value'])]),
);

/**
 * Settings the app reads that the template deliberately does not set, and why. Anything else without a default
 * must be set by the template.
 */
const NOT_SET_IN_AZURE: Record<string, string> = {
  ARM_ACCESS_TOKEN: 'a static token for the emulator and CI; in Azure the managed identity gets tokens',
  ARM_CA_CERT_FILE: "trusts the local emulator's self-signed certificate; never needed for ARM",
  ServiceBusConnection: 'a connection string; the template uses identity-based ServiceBusConnection__*',
  AzureWebJobsStorage: 'a connection string; the template uses identity-based AzureWebJobsStorage__*',
  AzureWebJobsStorage__accountName: 'superseded by AzureWebJobsStorage__tableServiceUri, which the template sets',
  RECONNECT_AFTER: 'optional properties.after of scheduled reconnects; ARM has its own default',
  LEDGER_FINGERPRINT_PREVIOUS_KEYS: 'secrets, and only during a key rotation',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'Application Insights is the exporter in Azure; OTLP is for other backends',
  OTEL_TRACES_EXPORTER: 'console spans are for local runs',
  CIRCUIT_BREAKER_QUEUE:
    'the optional Service Bus intake of breaker events; the template has Event Grid deliver them to circuitBreakerEvents',
};

/** Settings whose values are secrets: the template sets them as Key Vault references, never as values. */
const SECRET_SETTINGS = ['LEDGER_FINGERPRINT_KEY', 'WEBHOOK_SECRETS'];

/** Settings the host and platform read (not shared/config.ts): allowed in the template. */
const PLATFORM_SETTING = /^(AzureWebJobsStorage__|ServiceBusConnection__|APPLICATIONINSIGHTS_|languageWorkers__)/;

/** Names of settings without a default in the config schema: required ones and optional ones with no fallback. */
function settingsWithoutDefault(): string[] {
  return Object.entries(ConfigSchema.shape)
    .filter(([, schema]) => {
      const parsed = (schema as { safeParse(v: unknown): { success: boolean; data?: unknown } }).safeParse(undefined);
      return !parsed.success || parsed.data === undefined || parsed.data === '';
    })
    .map(([name]) => name);
}

const registrations = functionRegistrations(() => {
  throw new Error('not invoked');
}, loadTriggerSettings({}));
const triggers = registrations.map((r) => ('trigger' in r ? (r.trigger as Record<string, unknown>) : {}));
const triggerText = JSON.stringify(triggers);
/** Settings the host resolves in trigger declarations (`%NAME%`): it will not index a function without them. */
const hostSettings = [...triggerText.matchAll(/%([A-Za-z0-9_]+)%/g)].map((m) => m[1]!);
const connections = triggers.flatMap((t) => (typeof t['connection'] === 'string' ? [t['connection']] : []));

/** Built-in role ids from Microsoft Learn, "Azure built-in roles" (Integration, Storage, Monitor). */
const BUILT_IN_ROLES: Record<string, string> = {
  '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0': 'Azure Service Bus Data Receiver',
  '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39': 'Azure Service Bus Data Sender',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
};

describe('infra/azuredeploy.json', () => {
  it('is an ARM deployment template whose parameters file only sets declared parameters and every required one', () => {
    expect(template['$schema']).toMatch(/deploymentTemplate\.json#$/);
    expect(parametersFile['$schema']).toMatch(/deploymentParameters\.json#$/);
    const declared = template['parameters'] as Json;
    const given = Object.keys(parametersFile['parameters']);
    expect(given.filter((name) => !(name in declared))).toEqual([]);
    const required = Object.keys(declared).filter((name) => !('defaultValue' in declared[name]));
    expect(required.filter((name) => !given.includes(name))).toEqual([]);
  });

  it('gives every resource an apiVersion', () => {
    expect(resources.length).toBeGreaterThan(15);
    for (const r of resources)
      expect([r['type'], r['apiVersion']]).toEqual([
        r['type'],
        expect.stringMatching(/^\d{4}-\d{2}-\d{2}(-preview)?$/),
      ]);
  });

  it('creates a Linux Flex Consumption app on Node 22 (20 allowed) with a user-assigned identity and identity-auth deployment storage', () => {
    const plan = ofType('Microsoft.Web/serverfarms')[0]!;
    expect(plan['sku']).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    expect(plan['properties']['reserved']).toBe(true);
    expect(site['kind']).toBe('functionapp,linux');
    expect(site['identity']['type']).toBe('UserAssigned');
    const config = site['properties']['functionAppConfig'];
    expect(config['runtime']).toEqual({ name: 'node', version: "[parameters('nodeVersion')]" });
    expect(template['parameters']['nodeVersion']).toMatchObject({ defaultValue: '22', allowedValues: ['20', '22'] });
    expect(config['scaleAndConcurrency']).toEqual({
      instanceMemoryMB: "[parameters('instanceMemoryMB')]",
      maximumInstanceCount: "[parameters('maximumInstanceCount')]",
    });
    expect(config['deployment']['storage']['type']).toBe('blobContainer');
    expect(config['deployment']['storage']['authentication']['type']).toBe('UserAssignedIdentity');
    // Flex Consumption refuses these: the runtime and the package come from functionAppConfig.
    for (const name of ['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_RUN_FROM_PACKAGE']) {
      expect(appSettings.has(name)).toBe(false);
    }
  });

  it('sets every setting the app reads without a default, and every setting the host resolves in a trigger', () => {
    const needed = [...new Set([...settingsWithoutDefault(), ...hostSettings])];
    expect(hostSettings).toEqual(
      expect.arrayContaining(['CHANGE_REQUESTS_QUEUE', 'RECONNECT_SCHEDULE', 'LEDGER_CLEANUP_SCHEDULE']),
    );
    const missing = needed.filter((name) => !appSettings.has(name) && !(name in NOT_SET_IN_AZURE));
    expect(missing).toEqual([]);
    for (const connection of connections) {
      expect(appSettings.get(`${connection}__fullyQualifiedNamespace`)).toBeDefined();
      expect(appSettings.get(`${connection}__credential`)).toBe('managedidentity');
      expect(appSettings.get(`${connection}__clientId`)).toMatch(/clientId\]$/);
    }
  });

  it('sets only settings the app, the host or the platform reads, and its exceptions name real settings', () => {
    const known = new Set([...SETTING_NAMES, ...hostSettings]);
    expect([...appSettings.keys()].filter((name) => !known.has(name) && !PLATFORM_SETTING.test(name))).toEqual([]);
    expect(Object.keys(NOT_SET_IN_AZURE).filter((name) => !known.has(name))).toEqual([]);
  });

  it('uses identity-based storage and Service Bus connections and AAD-only Application Insights', () => {
    for (const name of ['blobServiceUri', 'queueServiceUri', 'tableServiceUri']) {
      expect(appSettings.get(`AzureWebJobsStorage__${name}`)).toMatch(/primaryEndpoints/);
    }
    expect(appSettings.get('AzureWebJobsStorage__credential')).toBe('managedidentity');
    expect(appSettings.get('AzureWebJobsStorage__clientId')).toMatch(/clientId\]$/);
    expect(appSettings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toMatch(/Authorization=AAD;ClientId=\{0\}/);
    expect(ofType('Microsoft.Storage/storageAccounts')[0]!['properties']['allowSharedKeyAccess']).toBe(false);
    expect(ofType('Microsoft.ServiceBus/namespaces')[0]!['properties']['disableLocalAuth']).toBe(true);
    expect(ofType('Microsoft.Insights/components')[0]!['properties']['DisableLocalAuth']).toBe(true);
  });

  it('holds no key or connection string of Storage or Service Bus in settings, outputs or anywhere else', () => {
    expect(templateText).not.toMatch(
      /listKeys|listConnectionStrings|listAccountSas|SharedAccessKey|AccountKey|InstrumentationKey=|DefaultEndpointsProtocol/i,
    );
    const outputs = JSON.stringify(template['outputs']);
    expect(outputs).not.toMatch(/ConnectionString|key|secret/i);
    for (const [name, value] of appSettings) {
      // The one connection string is Application Insights': with local auth off it is an endpoint and an identifier,
      // and ingestion needs an Entra token of the identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
      if (name === 'APPLICATIONINSIGHTS_CONNECTION_STRING') continue;
      if (SECRET_SETTINGS.includes(name)) continue; // Key Vault references, checked below
      expect([name, value]).not.toEqual([name, expect.stringMatching(/ConnectionString|key=|secret|password/i)]);
    }
  });

  it('keeps the two secrets in a Key Vault of its own (RBAC, purge protection) and sets them as Key Vault references', () => {
    const [vault] = ofType('Microsoft.KeyVault/vaults');
    expect(vault!['properties']).toMatchObject({
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      enablePurgeProtection: true,
    });
    expect(vault!['properties']['accessPolicies']).toBeUndefined();
    // Secure parameters go into vault secrets and nowhere else: never a setting, an output or another resource.
    const secureParameters = Object.entries(template['parameters'] as Record<string, Json>)
      .filter(([, p]) => p['type'] === 'securestring')
      .map(([name]) => name);
    expect(secureParameters.sort()).toEqual(['ledgerFingerprintKey', 'webhookSecrets']);
    for (const name of secureParameters) {
      const users = resources.filter((r) => JSON.stringify(r).includes(`parameters('${name}')`));
      expect(users.map((r) => r['type'])).toEqual(['Microsoft.KeyVault/vaults/secrets']);
      expect(users[0]!['condition']).toBe(`[not(empty(parameters('${name}')))]`); // empty keeps the stored secret
      expect(JSON.stringify(template['outputs'])).not.toContain(name);
    }
    expect(appSettings.get('LEDGER_FINGERPRINT_KEY')).toMatch(
      /^\[format\('@Microsoft\.KeyVault\(VaultName=\{0\};SecretName=\{1\}\)'/,
    );
    expect(appSettings.get('WEBHOOK_SECRETS')).toContain("'@Microsoft.KeyVault(VaultName={0};SecretName={1})'");
    // The references are resolved with the app's user-assigned identity, which may only read secrets of this vault.
    expect(site['properties']['keyVaultReferenceIdentity']).toBe("[variables('identityId')]");
    const vaultRoles = ofType('Microsoft.Authorization/roleAssignments').filter((a) =>
      String(a['scope']).startsWith("[format('Microsoft.KeyVault/vaults/"),
    );
    expect(vaultRoles.map((a) => a['properties']['roleDefinitionId'])).toEqual([
      "[variables('roles').keyVaultSecretsUser]",
    ]);
  });

  it('creates the queue with duplicate detection, MAX_DELIVERY_COUNT deliveries, a lock duration and sessions as parameters', () => {
    const queue = ofType('Microsoft.ServiceBus/namespaces/queues')[0]!['properties'];
    expect(queue).toMatchObject({
      requiresDuplicateDetection: true,
      maxDeliveryCount: "[parameters('maxDeliveryCount')]",
      lockDuration: "[parameters('queueLockDuration')]",
      requiresSession: "[parameters('changeRequestsSessions')]",
    });
    expect(appSettings.get('MAX_DELIVERY_COUNT')).toBe("[string(parameters('maxDeliveryCount'))]");
    expect(appSettings.get('CHANGE_REQUESTS_SESSIONS')).toBe("[string(parameters('changeRequestsSessions'))]");
    expect(appSettings.get('CHANGE_REQUESTS_QUEUE')).toBe("[parameters('changeRequestsQueueName')]");
    expect(ofType('Microsoft.ServiceBus/namespaces/topics')[0]!['properties']['requiresDuplicateDetection']).toBe(true);
    expect(ofType('Microsoft.ServiceBus/namespaces/topics/subscriptions')).toHaveLength(1);
  });

  it('limits ALLOWED_SCOPES to the API Management instance unless told otherwise', () => {
    expect(appSettings.get('ALLOWED_SCOPES')).toBe("[variables('allowedScopes')]");
    expect(template['variables']['allowedScopes']).toBe(
      "[if(empty(parameters('allowedScopes')), parameters('apimResourceId'), parameters('allowedScopes'))]",
    );
  });

  it('assigns only documented built-in roles, each on the narrowest resource', () => {
    const used = [...templateText.matchAll(/roleDefinitions', '([0-9a-f-]{36})'/g)].map((m) => m[1]!);
    expect(used.filter((id) => !(id in BUILT_IN_ROLES))).toEqual([]);
    const roleVar = template['variables']['roles'] as Record<string, string>;
    const roleName = (expr: string) => {
      const key = /variables\('roles'\)\.(\w+)/.exec(expr)?.[1];
      const id = key === undefined ? undefined : /'([0-9a-f-]{36})'/.exec(roleVar[key] ?? '')?.[1];
      return id === undefined ? expr : BUILT_IN_ROLES[id];
    };
    const assignments = ofType('Microsoft.Authorization/roleAssignments')
      .filter((a) => !String(a['scope']).includes('ApiManagement'))
      .map(
        (a) =>
          `${roleName(a['properties']['roleDefinitionId'])} on ${/^\[format\('([A-Za-z./]+)\//.exec(a['scope'])?.[1]}`,
      );
    expect(assignments.sort()).toEqual(
      [
        'Azure Service Bus Data Receiver on Microsoft.ServiceBus/namespaces',
        'Azure Service Bus Data Sender on Microsoft.ServiceBus/namespaces',
        'Azure Service Bus Data Sender on Microsoft.ServiceBus/namespaces',
        'Storage Blob Data Owner on Microsoft.Storage/storageAccounts',
        'Storage Queue Data Contributor on Microsoft.Storage/storageAccounts',
        'Storage Table Data Contributor on Microsoft.Storage/storageAccounts',
        'Monitoring Metrics Publisher on Microsoft.Insights/components',
        'Key Vault Secrets User on Microsoft.KeyVault/vaults',
      ].sort(),
    );
    // Receiver on the queue only; Sender on the queue and on the topic: never the whole namespace.
    const sbScopes = ofType('Microsoft.Authorization/roleAssignments')
      .filter((a) => String(a['scope']).includes('ServiceBus'))
      .map((a) => /\/(queues|topics)\//.exec(a['scope'])?.[1]);
    expect(sbScopes.sort()).toEqual(['queues', 'queues', 'topics']);
  });

  it('defines a custom role with exactly the backend actions, assigned on the API Management instance in its own resource group', () => {
    const [role] = ofType('Microsoft.Authorization/roleDefinitions');
    const permissions = role!['properties']['permissions'] as Json[];
    expect(permissions).toHaveLength(1);
    expect([...permissions[0]!['actions']].sort()).toEqual(
      [
        'Microsoft.ApiManagement/service/backends/read',
        'Microsoft.ApiManagement/service/backends/write',
        'Microsoft.ApiManagement/service/backends/delete',
        'Microsoft.ApiManagement/service/backends/reconnect/action',
        'Microsoft.ApiManagement/service/workspaces/backends/read',
        'Microsoft.ApiManagement/service/workspaces/backends/write',
        'Microsoft.ApiManagement/service/workspaces/backends/delete',
      ].sort(),
    );
    expect(permissions[0]).toMatchObject({ notActions: [], dataActions: [], notDataActions: [] });
    const nested = ofType('Microsoft.Resources/deployments')[0]!;
    expect(nested['resourceGroup']).toBe("[variables('apimResourceGroup')]");
    expect(template['variables']['apimResourceGroup']).toBe("[split(parameters('apimResourceId'), '/')[4]]");
    const apimAssignment = ofType('Microsoft.Authorization/roleAssignments').find((a) =>
      String(a['scope']).includes('ApiManagement'),
    );
    expect(apimAssignment!['scope']).toBe(
      "[format('Microsoft.ApiManagement/service/{0}', parameters('apimServiceName'))]",
    );
    expect(apimAssignment!['properties']['roleDefinitionId']).toContain("variables('roleDefinitionName')");
  });

  it('optionally sends the circuit-breaker events of the API Management instance to circuitBreakerEvents', () => {
    const [topic] = ofType('Microsoft.EventGrid/systemTopics');
    expect(topic).toMatchObject({
      condition: "[parameters('enableCircuitBreakerEvents')]",
      properties: { source: "[parameters('apimResourceId')]", topicType: 'Microsoft.ApiManagement.Service' },
    });
    const [subscription] = ofType('Microsoft.EventGrid/systemTopics/eventSubscriptions');
    expect(subscription!['properties']['filter']['includedEventTypes']).toEqual([
      'Microsoft.ApiManagement.CircuitBreaker.Opened',
      'Microsoft.ApiManagement.CircuitBreaker.Closed',
    ]);
    expect(subscription!['properties']['destination']).toMatchObject({
      endpointType: 'AzureFunction',
      properties: { resourceId: "[format('{0}/functions/circuitBreakerEvents', parameters('functionAppId'))]" },
    });
    expect(template['parameters']['enableCircuitBreakerEvents']['defaultValue']).toBe(false);
    // The function the subscription delivers to is one of the app's Event Grid functions.
    expect(registrations.find((r) => r.name === 'circuitBreakerEvents')?.kind).toBe('eventGrid');
  });
});
