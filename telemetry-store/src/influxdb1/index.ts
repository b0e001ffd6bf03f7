import { defineStoreBackend } from '../backend';
import { StoreSpecError } from '../errors';
import { parseHttpUrl } from '../spec-url';
import { InfluxDB1StoreConfigSchema } from './config';
import { InfluxDB1Store } from './store';

export { InfluxDB1StoreConfigSchema, type InfluxDB1StoreConfig } from './config';
export { InfluxDB1Store } from './store';

/** `influxdb1:URL/DB`, e.g. influxdb1:http://127.0.0.1:8086/poste (user:pass@ in the URL when auth is on). */
export const influxdb1 = defineStoreBackend({
  kind: 'influxdb1',
  configSchema: InfluxDB1StoreConfigSchema,
  specHelp: 'influxdb1:URL/DB',
  parseSpec(rest) {
    const u = parseHttpUrl(rest);
    if (u.search !== '' || u.hash !== '') throw new StoreSpecError('no ?query or #fragment expected after URL/DB');
    const database = u.pathname.replace(/^\/+|\/+$/g, '');
    if (database === '') throw new StoreSpecError('missing /DATABASE after the URL');
    if (database.includes('/')) throw new StoreSpecError(`DATABASE ${JSON.stringify(database)} contains '/'`);
    const credentials = u.username ? `${u.username}:${u.password}@` : '';
    return { kind: 'influxdb1' as const, url: `${u.protocol}//${credentials}${u.host}`, database: decodeURIComponent(database) };
  },
  create: (config) => new InfluxDB1Store(config),
});
