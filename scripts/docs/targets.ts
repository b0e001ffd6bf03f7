import { AgentFileOptionsSchema, DEVICE_ADAPTERS } from '@poste/agent';
import { SchedulerConfigSchema } from '@poste/agent/scheduler';
import { InventorySchema } from '@poste/dashboard-api';
import { DesiredConfigSchema } from '@poste/protocol';
import { CityScenarioSchema } from '@poste/simulators';
import { STORE_BACKENDS, StoreConfigSchema } from '@poste/telemetry-store';
import type { z } from 'zod';

/**
 * Every generated configuration reference: the zod schema (the single source of truth), the JSON
 * Schema file written under docs/schemas/, and the README section it fills — the text between
 * `<!-- generated:config NAME -->` and `<!-- /generated:config NAME -->`. `readme` is absent for a
 * schema published as a file only.
 */
export interface DocTarget {
  /** file stem under docs/schemas/ and the marker name */
  name: string;
  schema: z.ZodType;
  /** where the schema comes from, shown above the table */
  source: string;
  /** repository-relative README path */
  readme?: string;
}

/** One row per store backend in the registry, so a new backend is documented without an edit here. */
const storeBackendTargets: DocTarget[] = STORE_BACKENDS.map((backend) => ({
  name: `store-${backend.kind}`,
  schema: backend.configSchema,
  source: `the \`${backend.kind}\` backend's \`configSchema\` (\`@poste/telemetry-store\`)`,
  readme: `telemetry-store/src/${backend.kind}/README.md`,
}));

/** One row per device adapter in the agent's table, likewise. */
const deviceAdapterTargets: DocTarget[] = DEVICE_ADAPTERS.map((adapter) => ({
  name: `adapter-${adapter.kind}`,
  schema: adapter.configSchema,
  source: `the \`${adapter.kind}\` adapter's \`configSchema\` (\`@poste/agent\`)`,
  readme: `agent/src/adapters/${adapter.kind}/README.md`,
}));

export const DOC_TARGETS: readonly DocTarget[] = [
  { name: 'agent-config', schema: AgentFileOptionsSchema, source: '`AgentFileOptionsSchema` (`@poste/agent`)', readme: 'agent/README.md' },
  { name: 'scheduler-config', schema: SchedulerConfigSchema, source: '`SchedulerConfigSchema` (`@poste/agent/scheduler`)' },
  { name: 'store-config', schema: StoreConfigSchema, source: '`StoreConfigSchema` (`@poste/telemetry-store`)' },
  ...deviceAdapterTargets,
  ...storeBackendTargets,
  {
    name: 'desired-config',
    schema: DesiredConfigSchema,
    source: '`DesiredConfigSchema` (`@poste/protocol`)',
    readme: 'protocol/README.md',
  },
  {
    name: 'dashboard-inventory',
    schema: InventorySchema,
    source: '`InventorySchema` (`@poste/dashboard-api`)',
    readme: 'dashboard-api/README.md',
  },
  {
    name: 'city-scenario',
    schema: CityScenarioSchema,
    source: '`CityScenarioSchema` (`@poste/simulators`)',
    readme: 'simulators/README.md',
  },
];
