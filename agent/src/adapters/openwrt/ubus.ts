// The report the on-AP script publishes: three ubus answers side by side,
//   {"system": <ubus call system info>, "devices": <ubus call network.device status>,
//    "hostapd": {"<ifname>": <ubus call hostapd.<ifname> get_clients>, …}}
// validated here (the LAN is a trust boundary) with only the fields Poste uses; ubus adds more
// fields release by release, and unknown ones pass untouched.
import * as z from 'zod';

const Counter = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** procd `system info`. */
export const SystemInfoSchema = z.object({
  uptime: z.number().int().min(0).describe('s since boot'),
  load: z.array(z.number().int().min(0)).length(3).describe('1/5/15-min load × 65536'),
  memory: z.object({ total: Counter, free: Counter, available: Counter.optional() }),
});

/** One device of netifd `network.device status` (the answer without arguments is keyed by device name). */
export const NetDeviceSchema = z.object({
  statistics: z.object({
    rx_bytes: Counter,
    tx_bytes: Counter,
    rx_packets: Counter,
    tx_packets: Counter,
    rx_errors: Counter,
    tx_errors: Counter,
  }),
});

/** hostapd `get_clients`: clients keyed by MAC (never forwarded: privacy). */
export const GetClientsSchema = z.object({
  clients: z.record(
    z.string().max(32),
    z.object({
      assoc: z.boolean().optional(),
      authorized: z.boolean().optional(),
      signal: z.number().int().optional(),
      bytes: z.object({ rx: Counter, tx: Counter }).optional(),
    }),
  ),
});

export const UbusReportSchema = z.object({
  system: SystemInfoSchema,
  devices: z.record(z.string().max(32), z.unknown()),
  hostapd: z.record(z.string().max(32), GetClientsSchema).default({}),
});
export type UbusReport = z.infer<typeof UbusReportSchema>;
export type NetDevice = z.infer<typeof NetDeviceSchema>;

/** A device's statistics, or null when the report lacks it (a class interface that is down). */
export function netDeviceOf(report: UbusReport, name: string): NetDevice | null {
  const parsed = NetDeviceSchema.safeParse(report.devices[name]);
  return parsed.success ? parsed.data : null;
}

/** Associated clients on one hostapd interface (0 when the interface is absent). */
export function associatedClients(report: UbusReport, ifname: string): number {
  const c = report.hostapd[ifname];
  if (c === undefined) return 0;
  return Object.values(c.clients).filter((x) => x.assoc !== false).length;
}
