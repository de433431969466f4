/**
 * Every official example (Azure/azure-rest-api-specs) validates at its own api-version: the request of each PUT,
 * PATCH and reconnect example, and every backend a response carries, sent back as a createOrUpdate (the GET → edit →
 * PUT workflow). The 2024-05-01 examples are in fixtures/examples, the newer versions' in fixtures/examples-versions.
 */
import { parseChangeRequest } from '../../shared/domain/contract/change-request';
import { exampleAnswers, exampleOperation as operationOf, exampleTarget, loadAllExamples } from '../support/examples';

const examples = loadAllExamples();

const requests = examples.filter((e) => operationOf(e.file) !== undefined);

test('both example sets are present (2024-05-01 and the newer versions)', () => {
  const versions = new Set(examples.map((e) => e.parameters['api-version']));
  expect([...versions].sort()).toEqual([
    '2024-05-01',
    '2025-03-01-preview',
    '2025-09-01-preview',
    '2026-09-01-preview',
  ]);
  expect(requests.length).toBeGreaterThanOrEqual(17);
});

test.each(requests.map((e) => [e.file, e] as const))('request of %s validates at its api-version', (_file, e) => {
  const result = parseChangeRequest({
    operation: operationOf(e.file),
    target: exampleTarget(e),
    apiVersion: e.parameters['api-version'],
    body: e.parameters['parameters'],
    ...(typeof e.parameters['If-Match'] === 'string' ? { ifMatch: e.parameters['If-Match'] } : {}),
  });
  expect(result).toMatchObject({ ok: true });
});

/** Every backend in an example's success responses (one body, or a list's `value`). */
const answers = examples.flatMap((e) =>
  exampleAnswers(e).map(({ status, index, backend }) => [`${e.file} ${status}[${index}]`, e, backend] as const),
);

test.each(answers)('%s sent back as a createOrUpdate validates', (_name, e, answer) => {
  const { id } = answer as { id: string };
  const result = parseChangeRequest({
    operation: 'createOrUpdate',
    target: id,
    apiVersion: e.parameters['api-version'],
    body: answer,
  });
  expect(result).toMatchObject({ ok: true });
});
