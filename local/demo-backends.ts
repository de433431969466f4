/**
 * Backends `npm start` puts into the embedded ARM emulator so the README's circuit-breaker example has a pool to act
 * on: three OpenAI-style backends and the pool `openai-pool` that lists them (priorities 1, 1, 2).
 */
const SERVICE =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1';

export function demoBackends(): Array<{ id: string; properties: Record<string, unknown> }> {
  const members = ['openai1', 'openai2', 'openai3'];
  return [
    ...members.map((name) => ({
      id: `${SERVICE}/backends/${name}`,
      properties: { url: `https://${name}.openai.azure.com/openai`, protocol: 'http' },
    })),
    {
      id: `${SERVICE}/backends/openai-pool`,
      properties: {
        type: 'Pool',
        pool: {
          services: members.map((name, i) => ({
            id: `${SERVICE}/backends/${name}`,
            priority: i < 2 ? 1 : 2,
            weight: 1,
          })),
        },
      },
    },
  ];
}
