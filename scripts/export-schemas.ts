/**
 * Writes the JSON Schemas producers and consumers use (`npm run schemas`): the change request, the outcome and the
 * result event. Generated from the zod schemas, the single source of truth; a test fails when they are stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemas } from '../shared/domain/contract/json-schemas';

for (const [file, schema] of Object.entries(jsonSchemas())) {
  writeFileSync(join(__dirname, '..', 'schemas', file), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`schemas/${file}`);
}
