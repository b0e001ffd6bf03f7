import * as z from 'zod';
import { DeviceIdSchema, GroupIdSchema } from '@poste/protocol';
import { adapterConfigBase } from '../config-base';

/** One Tasmota controller: its `%topic%` and what Poste needs to know about the luminaire behind it. */
export const TasmotaDeviceConfigSchema = z
  .object({
    topic: z
      .string()
      .regex(/^[^/#+\s]{1,64}$/, 'a Tasmota %topic%: 1–64 characters, no /, #, + or whitespace')
      .describe("the controller's Tasmota Topic (the %topic% of its FullTopic)"),
    device: DeviceIdSchema.describe('the Poste device id the controller appears as'),
    group: GroupIdSchema.describe('lighting group (the scheduler dims by group)'),
    nominalPowerW: z.number().min(0).max(100_000).describe('W at 100 % dim level'),
    programLevel: z
      .number()
      .min(0)
      .max(100)
      .default(100)
      .describe('%, the level the adapter restores when a lease ends or an override is cleared (Tasmota holds no timed level)'),
  })
  .strict();

const FullTopicSchema = z
  .string()
  .max(100)
  .refine((s) => s.includes('%prefix%') && s.includes('%topic%'), 'must contain both %prefix% and %topic%')
  .refine((s) => !/[#+]/.test(s) && !/%(?!prefix%|topic%)/.test(s.replaceAll('%prefix%', '').replaceAll('%topic%', '')), {
    message: 'only the %prefix% and %topic% tokens are supported; no MQTT wildcards',
  });

/**
 * `{"kind": "tasmota", "port": 1885, "devices": [...]}` serves the controllers on an embedded broker;
 * `{"kind": "tasmota", "url": "mqtt://127.0.0.1:1883", "devices": [...]}` subscribes to a broker
 * already running on the gateway.
 */
export const TasmotaAdapterConfigSchema = adapterConfigBase('tasmota')
  .extend({
    url: z
      .string()
      .regex(/^mqtts?:\/\/[^\s]+$/, 'an mqtt:// or mqtts:// URL')
      .optional()
      .describe('an existing broker the controllers publish to; absent = serve them on host:port'),
    username: z.string().max(128).optional().describe('for url: the broker user'),
    password: z.string().max(256).optional().describe('for url: the broker password'),
    host: z.string().min(1).default('127.0.0.1').describe('without url: interface the embedded broker listens on'),
    port: z.number().int().min(0).max(65_535).default(0).describe('without url: embedded broker port; 0 = any free port'),
    fullTopic: FullTopicSchema.default('%prefix%/%topic%/').describe(
      'Tasmota FullTopic (its command of that name), e.g. tasmota/%topic%/%prefix%/',
    ),
    prefixes: z
      .object({
        cmnd: z
          .string()
          .regex(/^[^/#+\s]{1,32}$/)
          .default('cmnd')
          .describe('Prefix1'),
        stat: z
          .string()
          .regex(/^[^/#+\s]{1,32}$/)
          .default('stat')
          .describe('Prefix2'),
        tele: z
          .string()
          .regex(/^[^/#+\s]{1,32}$/)
          .default('tele')
          .describe('Prefix3'),
      })
      .strict()
      .default({ cmnd: 'cmnd', stat: 'stat', tele: 'tele' })
      .describe('Tasmota Prefix1/2/3'),
    devices: z
      .array(TasmotaDeviceConfigSchema)
      .min(1)
      .max(5_000)
      .describe('the controllers this adapter speaks for; other topics are ignored and counted'),
    maxPendingPerDevice: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(8)
      .describe('commands awaiting a RESULT per controller; the oldest is dropped beyond'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const topics = new Map<string, number>();
    const ids = new Map<string, number>();
    c.devices.forEach((d, i) => {
      const t = topics.get(d.topic);
      if (t !== undefined)
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'topic'], message: `topic ${d.topic} is already used by devices[${t}]` });
      else topics.set(d.topic, i);
      const di = ids.get(d.device);
      if (di !== undefined)
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'device'], message: `device ${d.device} is already used by devices[${di}]` });
      else ids.set(d.device, i);
    });
    if (c.url === undefined && (c.username !== undefined || c.password !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'username/password apply only with url' });
    }
  });

export type TasmotaAdapterConfig = z.output<typeof TasmotaAdapterConfigSchema>;
export type TasmotaDeviceConfig = z.output<typeof TasmotaDeviceConfigSchema>;
