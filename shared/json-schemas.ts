import { z } from 'zod';
import { ResultEventSchema } from './events/cloud-event';
import { ChangeRequestSchema } from './contract/change-request';
import { OutcomeSchema } from './contract/outcome';

/** JSON Schemas (draft 2020-12) of the public shapes, keyed by file name. */
export function jsonSchemas(): Record<string, unknown> {
  return {
    'change-request.schema.json': z.toJSONSchema(ChangeRequestSchema, { io: 'input', unrepresentable: 'any' }),
    'outcome.schema.json': z.toJSONSchema(OutcomeSchema, { unrepresentable: 'any' }),
    'result-event.schema.json': z.toJSONSchema(ResultEventSchema, { unrepresentable: 'any' }),
  };
}
