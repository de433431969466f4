import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTING_NAMES } from '../../shared/config/settings-schema';

const root = join(__dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const sample = JSON.parse(readFileSync(join(root, 'local.settings.sample.json'), 'utf8')) as {
  Values: Record<string, string>;
};
// Read by the host or the local runtime rather than by loadConfig.
const HOST_SETTINGS = ['RECONNECT_SCHEDULE', 'LEDGER_CLEANUP_SCHEDULE', 'PORT'];

describe('settings documentation', () => {
  it.each([...SETTING_NAMES, ...HOST_SETTINGS].filter((n) => n !== 'ServiceBusConnection__fullyQualifiedNamespace'))(
    '%s is in the README settings table and in local.settings.sample.json',
    (name) => {
      expect(readme).toMatch(new RegExp(`\\| \`${name}\` +\\|`));
      expect(Object.keys(sample.Values)).toContain(name);
    },
  );

  it('the sample holds no setting the app does not read', () => {
    const known = new Set([...SETTING_NAMES, ...HOST_SETTINGS, 'FUNCTIONS_WORKER_RUNTIME']);
    expect(Object.keys(sample.Values).filter((k) => !known.has(k))).toEqual([]);
  });
});
