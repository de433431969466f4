import * as z from 'zod';
import { BackendBodySchema, BackendPatchBodySchema, ReconnectBodySchema } from './backend-body';
import { SUPPORTED_API_VERSIONS } from './api-versions';
import { ChangeRequestSchema, REQUEST_ID_PATTERN } from './change-request';
import { ChangeSetSchema, SetOutcomeSchema } from './change-set';
import { ChangeSetEventSchema } from '../change-set-event';
import { OutcomeSchema } from './outcome';
import { BackendArmIdSchema, BackendTargetObjectSchema } from './safe-segment';
import { ResultEventSchema } from '../cloud-event';
import { BreakerResultEventSchema } from '../breaker-record';

type JsonSchema = Record<string, unknown>;

function toSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  delete json['$schema'];
  return json;
}

/**
 * A createOrUpdate body treats `null` as absent (ARM templates and GET answers write it): every object property of
 * the schema also admits null. Array items do not.
 */
function nullableProperties(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(nullableProperties);
  if (typeof json !== 'object' || json === null) return json;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(json as JsonSchema)) {
    if (key === 'properties' && typeof value === 'object' && value !== null) {
      const props: JsonSchema = {};
      for (const [name, schema] of Object.entries(value as JsonSchema)) {
        props[name] = { anyOf: [nullableProperties(schema), { type: 'null' }] };
      }
      out[key] = props;
    } else out[key] = nullableProperties(value);
  }
  return out;
}

/**
 * The change request's JSON Schema. The zod schema picks the target and body shapes with cross-field rules that
 * JSON Schema cannot express, so those two properties are described here from their own zod schemas (still the
 * single source of truth) as the alternatives a producer may send; our validation remains the final word.
 */
function changeRequestSchema(): JsonSchema {
  const json = toSchema(ChangeRequestSchema, 'input');
  const properties = json['properties'] as Record<string, JsonSchema>;
  properties['requestId'] = { type: 'string', pattern: REQUEST_ID_PATTERN.source };
  properties['apiVersion'] = {
    ...properties['apiVersion'],
    type: 'string',
    enum: [...SUPPORTED_API_VERSIONS],
  };
  properties['target'] = {
    description: 'The backend: its parts, or its ARM resource id as one string',
    anyOf: [
      toSchema(BackendTargetObjectSchema, 'input'),
      {
        ...toSchema(BackendArmIdSchema, 'input'),
        pattern:
          '^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.ApiManagement/service/[^/]+(/workspaces/[^/]+)?/backends/[^/]+$',
      },
    ],
  };
  properties['body'] = {
    description:
      'The ARM request body: BackendContract for createOrUpdate, BackendUpdateParameters for update, ' +
      'BackendReconnectContract for reconnect (optional); absent for delete',
    anyOf: [
      nullableProperties(toSchema(BackendBodySchema, 'input')),
      toSchema(BackendPatchBodySchema, 'input'),
      toSchema(ReconnectBodySchema, 'input'),
    ],
  };
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'Backend change request', ...json };
}

/** The change set's JSON Schema: each change is the change request's schema without requestId and dryRun. */
function changeSetSchema(): JsonSchema {
  const json = toSchema(ChangeSetSchema, 'input');
  const { $schema: _schema, title: _title, ...change } = changeRequestSchema();
  const changeProperties = { ...(change['properties'] as Record<string, JsonSchema>) };
  delete changeProperties['requestId'];
  delete changeProperties['dryRun'];
  const required = (change['required'] as string[] | undefined)?.filter((k) => k !== 'requestId' && k !== 'dryRun');
  const properties = json['properties'] as Record<string, JsonSchema>;
  properties['requestId'] = { type: 'string', pattern: REQUEST_ID_PATTERN.source };
  properties['changes'] = {
    ...properties['changes'],
    items: { ...change, properties: changeProperties, ...(required === undefined ? {} : { required }) },
  };
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'Backend change set', ...json };
}

/** JSON Schemas (draft 2020-12) of the public shapes, keyed by file name. */
export function jsonSchemas(): Record<string, unknown> {
  return {
    'change-request.schema.json': changeRequestSchema(),
    'change-set.schema.json': changeSetSchema(),
    'change-set-outcome.schema.json': {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'Backend change set outcome',
      ...toSchema(SetOutcomeSchema),
    },
    'change-set-event.schema.json': {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'Backend change set result event (CloudEvents 1.0)',
      ...toSchema(ChangeSetEventSchema),
    },
    'outcome.schema.json': {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'Backend change outcome',
      ...toSchema(OutcomeSchema),
    },
    'result-event.schema.json': {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'Backend change result event (CloudEvents 1.0)',
      ...toSchema(ResultEventSchema),
    },
    'circuit-breaker-event.schema.json': {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'Circuit-breaker event (CloudEvents 1.0)',
      ...toSchema(BreakerResultEventSchema),
    },
  };
}
