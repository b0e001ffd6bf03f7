import { need, optional, readSecretFile, UsageError } from '@poste/cli-kit';
import type { Command } from '../cli/command';
import { CliError, EXIT } from '../cli/exit-codes';
import { readSmallFile } from '../cli/files';
import { checkGatewayHealth } from './gateway-health';

function positiveNumber(flag: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${flag} must be a number ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'check that a gateway is connected and reports healthy (alias verify-gateway)',
  usage: `poste-firmware check --broker URL --username U [--password-file FILE] --gateway ID [--timeout S] [--min-devices N] [--ca FILE.pem]
poste-firmware verify-gateway …   (the same)

Connects to the broker as a service user (password from --password-file or POSTE_BROKER_PASSWORD)
and reads the gateway's retained state and its devices' states. Healthy: the gateway is online
and at least N devices (default 0) are online. Waits up to --timeout seconds (default 15) for it.
Exit 0 healthy, 1 not healthy (offline, never connected, too few devices), 6 broker unreachable
or login refused.`,
  options: {
    broker: { type: 'string' },
    username: { type: 'string' },
    'password-file': { type: 'string' },
    gateway: { type: 'string' },
    timeout: { type: 'string' },
    'min-devices': { type: 'string' },
    ca: { type: 'string' },
  },
  async run(values, _p, { io, env }) {
    const passwordFile = optional(values, 'password-file');
    const password =
      passwordFile !== undefined
        ? await readSecretFile(passwordFile, 'the broker password').catch((e: Error) => {
            throw new CliError(EXIT.file, e.message);
          })
        : env.brokerPassword;
    if (password === undefined) throw new UsageError('give --password-file FILE or set POSTE_BROKER_PASSWORD');
    const caFile = optional(values, 'ca');
    const report = await checkGatewayHealth({
      brokerUrl: need(values, 'broker'),
      username: need(values, 'username'),
      password,
      gatewayId: need(values, 'gateway'),
      timeoutMs: positiveNumber('--timeout', optional(values, 'timeout'), 15, 0.1) * 1000,
      minDevicesOnline: Math.floor(positiveNumber('--min-devices', optional(values, 'min-devices'), 0, 0)),
      caPem: caFile === undefined ? undefined : (await readSmallFile(caFile, 'CA certificate')).toString('utf8'),
    });
    if (report.outcome === 'unreachable') throw new CliError(EXIT.unreachable, `broker unreachable: ${report.reason}`);
    const g = report.gateway;
    const line = `${g?.agentVersion ? `agent ${g.agentVersion}, ` : ''}${report.devicesOnline}/${report.devicesKnown} devices online`;
    if (report.outcome === 'unhealthy') throw new CliError(EXIT.refused, `NOT HEALTHY: ${report.reason} (${line})`);
    io.out(`HEALTHY: ${need(values, 'gateway')} online, ${line}`);
    return EXIT.ok;
  },
};
