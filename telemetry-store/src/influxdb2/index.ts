import { defineStoreBackend } from '../backend';
import { StoreSpecError } from '../errors';
import { parseHttpUrl } from '../spec-url';
import { InfluxDB2StoreConfigSchema } from './config';
import { InfluxDB2Store } from './store';

export { InfluxDB2StoreConfigSchema, type InfluxDB2StoreConfig } from './config';
export { InfluxDB2Store } from './store';

const PARAMS = ['org', 'bucket', 'token', 'tokenFile', 'database'] as const;

/**
 * `influxdb2:URL?org=ORG&bucket=BUCKET&tokenFile=PATH` (or `&token=TOKEN`; a token on the command
 * line is visible to every local user in `ps`, so tokenFile is the one to use in production).
 * Optional `&database=DB` for reads through a DBRP mapping whose name differs from the bucket.
 */
export const influxdb2 = defineStoreBackend({
  kind: 'influxdb2',
  configSchema: InfluxDB2StoreConfigSchema,
  specHelp: 'influxdb2:URL?org=ORG&bucket=BUCKET&tokenFile=PATH (or &token=TOKEN)',
  parseSpec(rest) {
    const u = parseHttpUrl(rest);
    const seen = new Map<string, string>();
    for (const [key, value] of u.searchParams) {
      if (!(PARAMS as readonly string[]).includes(key))
        throw new StoreSpecError(`unknown parameter ${JSON.stringify(key)} (known: ${PARAMS.join(', ')})`);
      if (seen.has(key)) throw new StoreSpecError(`parameter ${key} given twice`);
      if (value === '') throw new StoreSpecError(`parameter ${key} is empty`);
      seen.set(key, value);
    }
    for (const required of ['org', 'bucket'] as const) {
      if (!seen.has(required)) throw new StoreSpecError(`missing ${required}=${required.toUpperCase()}`);
    }
    if (seen.has('token') === seen.has('tokenFile')) throw new StoreSpecError('give exactly one of token=TOKEN or tokenFile=PATH');
    const path = u.pathname.replace(/\/+$/, '');
    return {
      kind: 'influxdb2' as const,
      url: `${u.protocol}//${u.host}${path}`,
      org: seen.get('org')!,
      bucket: seen.get('bucket')!,
      ...(seen.has('token') ? { token: seen.get('token')! } : { tokenFile: seen.get('tokenFile')! }),
      ...(seen.has('database') ? { database: seen.get('database')! } : {}),
    };
  },
  create: (config) => new InfluxDB2Store(config),
});
