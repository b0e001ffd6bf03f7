import * as z from 'zod';
import { DeviceIdSchema } from '@poste/protocol';
import { adapterConfigBase } from '../config-base';

const IfName = z.string().regex(/^[A-Za-z0-9._-]{1,15}$/, 'a Linux interface name: 1–15 of A-Z a-z 0-9 . _ -');
const Cidr = z
  .string()
  .regex(/^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$/, 'an IPv4 network, e.g. 192.168.1.0/24')
  .refine(
    (s) =>
      s
        .split('/')[0]!
        .split('.')
        .every((o) => Number(o) <= 255),
    'octets 0–255',
  );

/** How `tc` recognises a class's packets on the uplink: their source network, or a firewall mark (survives NAT). */
const MatchSchema = z.union([
  z.object({ source: Cidr.describe('source IPv4 network') }).strict(),
  z.object({ mark: z.number().int().min(1).max(0xffff_ffff).describe('fwmark set by the AP firewall (e.g. per zone)') }).strict(),
]);

const ClassSchema = z
  .object({
    netdevs: z.array(IfName).max(8).default([]).describe('network devices whose rx+tx bytes count for the class (network.device status)'),
    wifi: z
      .array(IfName)
      .max(8)
      .default([])
      .describe('hostapd interfaces whose associated clients count for the class (hostapd.<if> get_clients)'),
    match: z.array(MatchSchema).max(16).default([]).describe("filters putting the class's packets in its HTB class"),
  })
  .strict();

export const OpenWrtApConfigSchema = z
  .object({
    device: DeviceIdSchema.describe("the Poste device id; also the AP's id in its topics"),
    capacityKbps: z.number().min(1).max(100_000_000).describe('kbit/s, the uplink capacity shaped on `uplink`'),
    uplink: IfName.default('wan').describe('the interface whose egress the plan shapes (tc)'),
    leafQdisc: z.enum(['fq_codel', 'pfifo']).default('fq_codel').describe('queue discipline under each HTB class'),
    classes: z
      .object({ household: ClassSchema, telemedicine: ClassSchema, public: ClassSchema })
      .strict()
      .describe('per traffic class: its counters, its Wi-Fi interfaces and its filters'),
  })
  .strict();

/**
 * `{"kind": "openwrt", "port": 1886, "aps": [...]}` serves the APs' publisher scripts on an embedded
 * broker; with `url`, the adapter subscribes to a broker already on the gateway.
 */
export const OpenWrtAdapterConfigSchema = adapterConfigBase('openwrt')
  .extend({
    url: z
      .string()
      .regex(/^mqtts?:\/\/[^\s]+$/, 'an mqtt:// or mqtts:// URL')
      .optional()
      .describe('an existing broker the APs publish to; absent = serve them on host:port'),
    username: z.string().max(128).optional().describe('for url: the broker user'),
    password: z.string().max(256).optional().describe('for url: the broker password'),
    host: z.string().min(1).default('127.0.0.1').describe('without url: interface the embedded broker listens on'),
    port: z.number().int().min(0).max(65_535).default(0).describe('without url: embedded broker port; 0 = any free port'),
    topicPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/)
      .default('poste-ap')
      .describe('first topic level of the publisher script (poste-ap.sh -t)'),
    staleAfterMs: z
      .number()
      .int()
      .min(1_000)
      .max(3_600_000)
      .default(180_000)
      .describe('ms without a report after which an AP is marked offline'),
    aps: z
      .array(OpenWrtApConfigSchema)
      .min(1)
      .max(1_000)
      .describe('the access points this adapter speaks for; other ids are ignored and counted'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    c.aps.forEach((ap, i) => {
      const first = seen.get(ap.device);
      if (first !== undefined)
        ctx.addIssue({ code: 'custom', path: ['aps', i, 'device'], message: `device ${ap.device} is already used by aps[${first}]` });
      else seen.set(ap.device, i);
    });
  });

export type OpenWrtAdapterConfig = z.output<typeof OpenWrtAdapterConfigSchema>;
export type OpenWrtApConfig = z.output<typeof OpenWrtApConfigSchema>;
export type TcMatch = z.output<typeof MatchSchema>;
