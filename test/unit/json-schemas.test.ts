import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemas } from '../../shared/domain/contract/json-schemas';

describe('published JSON Schemas', () => {
  it.each(Object.keys(jsonSchemas()))(
    'schemas/%s is generated from the zod schemas (run `npm run schemas`)',
    (file) => {
      const committed = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', file), 'utf8'));
      expect(committed).toEqual(jsonSchemas()[file]);
    },
  );

  it('the change-request schema refuses unknown properties and names the operations', () => {
    const schema = jsonSchemas()['change-request.schema.json'] as any;
    expect(schema.additionalProperties).toBe(false);
    expect(JSON.stringify(schema)).toContain('createOrUpdate');
  });
});
