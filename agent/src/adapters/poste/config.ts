import { z } from 'zod';
import { adapterConfigBase } from '../config-base';

/** `{"kind": "poste", "host": "127.0.0.1", "port": 1884}`: where the embedded LAN broker listens. */
export const PosteAdapterConfigSchema = adapterConfigBase('poste')
  .extend({
    host: z.string().min(1).default('127.0.0.1').describe('interface to listen on (the LAN side of the gateway)'),
    port: z.number().int().min(0).max(65_535).describe('0 = any free port (see agent.localPort / agent.adapterPorts())'),
  })
  .strict();

export type PosteAdapterConfig = z.output<typeof PosteAdapterConfigSchema>;
