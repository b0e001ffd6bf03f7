// The one table of device adapters. A new adapter is a folder under adapters/ exporting an
// AdapterDescriptor, plus one line in DEVICE_ADAPTERS: the config union, the kind check and the
// factory lookup below all derive from this table.
import * as z from 'zod';
import { posteAdapter } from './poste';
import { openWrtAdapter } from './openwrt';
import { tasmotaAdapter } from './tasmota';
import type { AdapterContext, DeviceAdapter } from './types';

export const DEVICE_ADAPTERS = [posteAdapter, tasmotaAdapter, openWrtAdapter] as const;

export type AdapterKind = (typeof DEVICE_ADAPTERS)[number]['kind'];

type SchemaOf<D> = D extends { configSchema: infer S } ? S : never;
/** The table's config schemas as a tuple type, which z.discriminatedUnion needs. */
type SchemasOf<T extends readonly unknown[]> = { -readonly [I in keyof T]: SchemaOf<T[I]> };
type ConfigSchemas = SchemasOf<typeof DEVICE_ADAPTERS>;

export const ADAPTER_KINDS: readonly AdapterKind[] = DEVICE_ADAPTERS.map((d) => d.kind);

const kindOf = (input: unknown): unknown => (typeof input === 'object' && input !== null ? (input as { kind?: unknown }).kind : undefined);

/** One entry of the agent config's `adapters`: discriminated on `kind`, derived from DEVICE_ADAPTERS. */
export const AdapterConfigSchema = z.discriminatedUnion('kind', DEVICE_ADAPTERS.map((d) => d.configSchema) as unknown as ConfigSchemas, {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `unknown adapter kind ${JSON.stringify(kindOf(issue.input)) ?? 'undefined'}; registered kinds: ${ADAPTER_KINDS.join(', ')}`
      : undefined,
});

export type AdapterConfig = z.output<typeof AdapterConfigSchema>;
export type AdapterConfigInput = z.input<typeof AdapterConfigSchema>;

/** Instance names in config order: the explicit `name`, else the kind, else `kind-2`, `kind-3`… */
export function adapterInstanceNames(configs: readonly { kind: string; name?: string | undefined }[]): string[] {
  const seen = new Map<string, number>();
  return configs.map((c) => {
    const n = (seen.get(c.kind) ?? 0) + 1;
    seen.set(c.kind, n);
    return c.name ?? (n === 1 ? c.kind : `${c.kind}-${n}`);
  });
}

/** The agent config's `adapters` list: at least one, a bounded number, instance names unique. */
export const AdapterConfigListSchema = z
  .array(AdapterConfigSchema)
  .min(1, 'an agent needs at least one device adapter')
  .max(16)
  .superRefine((configs, ctx) => {
    const names = adapterInstanceNames(configs);
    names.forEach((name, i) => {
      const first = names.indexOf(name);
      if (first !== i) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `adapter name ${name} is already used by adapters[${first}]; give each instance a distinct name`,
        });
      }
    });
  });

/** Starts one adapter from a validated config entry. */
export function createAdapter(config: AdapterConfig, ctx: AdapterContext): Promise<DeviceAdapter> {
  const descriptor = DEVICE_ADAPTERS.find((d) => d.kind === config.kind);
  if (descriptor === undefined) return Promise.reject(new Error(`no adapter registered for kind ${config.kind}`));
  // The union is derived from this table, so the descriptor found by kind accepts this config;
  // TypeScript cannot narrow a table lookup by its discriminator, hence the widened call.
  const create = descriptor.create as (c: AdapterConfig, x: AdapterContext) => Promise<DeviceAdapter>;
  return create(config, ctx);
}
