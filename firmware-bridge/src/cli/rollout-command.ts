// `poste-firmware rollout start|status|watch|pause|resume|abort`: staged rollouts through the
// cloud's API (POST/GET /api/v1/rollouts…, technician token). `start` verifies the image against
// the trusted key before a byte leaves the laptop; `watch` draws the rollout's progress until it
// finishes and exits 0 only when it completed.
import { readFile } from 'node:fs/promises';
import { need, optional, readSecretFile, UsageError } from '@poste/cli-kit';
import { type RolloutTarget, RolloutTargetSchema, type RolloutView } from '@poste/protocol';
import type { Command, CommandContext } from './command';
import { CliError, EXIT } from './exit-codes';
import { readSmallFile } from './files';
import { verifyImageFile } from './image-commands';
import { describeRollout, type RolloutClient, rolloutClient } from './rollout-client';

const FINISHED = new Set(['completed', 'halted', 'aborted']);

function fraction(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`${flag} must be a fraction 0-1, got ${JSON.stringify(raw)}`);
  return n;
}

function count(flag: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/** `GATEWAY/DEVICE` (or `GATEWAY/$gateway` for the gateway's own agent). */
function parseTarget(raw: string, where: string): RolloutTarget {
  const slash = raw.indexOf('/');
  const r = RolloutTargetSchema.safeParse(slash < 0 ? {} : { gateway: raw.slice(0, slash), device: raw.slice(slash + 1) });
  if (!r.success)
    throw new UsageError(`${where}: ${JSON.stringify(raw)} is not GATEWAY/DEVICE (${r.error.issues[0]?.message ?? 'invalid'})`);
  return r.data;
}

async function targetsOf(values: Record<string, unknown>): Promise<RolloutTarget[]> {
  const targets = ((values.target as string[] | undefined) ?? []).map((t) => parseTarget(t, '--target'));
  const file = optional(values as Record<string, string | undefined>, 'targets-file');
  if (file !== undefined) {
    const lines = (await readSmallFile(file, 'targets file')).toString('utf8').split('\n');
    lines.forEach((line, i) => {
      const t = line.replace(/#.*/, '').trim();
      if (t !== '') targets.push(parseTarget(t, `${file}:${i + 1}`));
    });
  }
  if (targets.length === 0) throw new UsageError('give the targets: --target GATEWAY/DEVICE (repeatable) or --targets-file FILE');
  return targets;
}

async function clientOf(values: Record<string, unknown>, ctx: CommandContext): Promise<RolloutClient> {
  const tokenFile = optional(values as Record<string, string | undefined>, 'token-file');
  const token =
    tokenFile !== undefined
      ? await readSecretFile(tokenFile, 'the API token').catch((e: Error) => {
          throw new CliError(EXIT.file, e.message);
        })
      : ctx.env.apiToken;
  if (token === undefined) throw new UsageError('give --token-file FILE or set POSTE_API_TOKEN (a technician token)');
  return rolloutClient(need(values as Record<string, string | undefined>, 'api'), token);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until the rollout finishes, advancing a bar by targets with a final outcome. */
async function watch(client: RolloutClient, id: string, intervalMs: number, ctx: CommandContext): Promise<RolloutView> {
  let r = await client.get(id);
  const bar = ctx.progress.start(`rollout ${id}`, r.counts.total, 'targets');
  let shown = 0;
  let lastState = '';
  try {
    for (;;) {
      const settled = r.counts.committed + r.counts.failed + (FINISHED.has(r.state) ? r.counts.waiting : 0);
      bar.advance(settled - shown);
      shown = settled;
      const line = `${r.state}, stage ${r.stage + 1}/${r.stages.length}`;
      if (line !== lastState) ctx.io.err(`rollout ${id}: ${line}`);
      lastState = line;
      if (FINISHED.has(r.state)) return r;
      await sleep(intervalMs);
      r = await client.get(id);
    }
  } finally {
    bar.done();
  }
}

function finish(r: RolloutView, ctx: CommandContext): number {
  ctx.io.out(describeRollout(r));
  return r.state === 'completed' ? EXIT.ok : EXIT.refused;
}

const API_FLAGS = `--api URL              the cloud's dashboard API, e.g. http://127.0.0.1:8080
  --token-file FILE      a technician token (or POSTE_API_TOKEN)`;

export const rolloutCommand: Command = {
  name: 'rollout',
  summary: 'start, watch, pause, resume or abort a staged rollout (start|status|watch|pause|resume|abort)',
  usage: `poste-firmware rollout start IMAGE --manifest M --trust PUB --api URL (--target GW/DEV … | --targets-file F)
                              --canary N [--stage-size N] [--success 0.9] [--errors 0.1]
                              [--device-timeout S] [--name TEXT] [--force-by WHO --force-reason WHY] [--watch]
poste-firmware rollout status ID --api URL [--json]
poste-firmware rollout watch ID --api URL [--interval S]
poste-firmware rollout pause|resume|abort ID --api URL

start   verifies IMAGE against M and the trusted key(s) (exit 1 if it does not verify), then sends
        it to the cloud, which installs it on the first --canary targets, then on --stage-size
        targets at a time (default: all the rest at once). A stage passes when at least --success
        of it committed (default 0.9); the rollout halts as soon as more than --errors of the
        targets started so far failed (default 0.1): refused, rolled back after a failed health
        check, failed, or no outcome within --device-timeout seconds (default 3600).
        Targets: GATEWAY/DEVICE, or GATEWAY/$gateway for the agent itself (a gateway-agent image:
        A/B slots, restart, health check, commit or roll back); a targets file has one per line (# comments). Prints the rollout id; with --watch, watches it (as below).
status  prints the rollout: state, stages, counts and failed targets (--json: the whole record
        with every target's outcome).
watch   shows a progress bar (targets settled) until the rollout completes, halts or is aborted.
pause   stops serving chunks and starting stages; targets that already hold the image finish.
resume  carries on (time paused does not count against --device-timeout).
abort   stops for good: the gateways' jobs are cleared, waiting targets are skipped.

  ${API_FLAGS}

Exit codes: 0 done (start: started; watch and start --watch: completed) · 1 the rollout halted or
was aborted (watch), the image does not verify, or the cloud refused the request (no such
rollout, not possible in its state, image not matching its manifest, target already in a
rollout) · 2 usage · 3 unreadable file · 6 cloud API unreachable or token refused.`,
  options: {
    api: { type: 'string' },
    'token-file': { type: 'string' },
    manifest: { type: 'string' },
    trust: { type: 'string', multiple: true },
    target: { type: 'string', multiple: true },
    'targets-file': { type: 'string' },
    canary: { type: 'string' },
    'stage-size': { type: 'string' },
    success: { type: 'string' },
    errors: { type: 'string' },
    'device-timeout': { type: 'string' },
    name: { type: 'string' },
    'force-by': { type: 'string' },
    'force-reason': { type: 'string' },
    watch: { type: 'boolean' },
    json: { type: 'boolean' },
    interval: { type: 'string' },
  },
  async run(values, positionals, ctx) {
    const [sub, arg, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    if (arg === undefined) throw new UsageError(sub === 'start' ? 'missing IMAGE' : 'missing the rollout id');
    const s = values as Record<string, string | undefined>;
    const interval = Number(optional(s, 'interval') ?? '1');
    if (!Number.isFinite(interval) || interval < 0.05)
      throw new UsageError(`--interval must be seconds ≥ 0.05, got ${JSON.stringify(s.interval)}`);
    const intervalMs = interval * 1000;
    switch (sub) {
      case 'start': {
        const canary = count('--canary', need(s, 'canary'), 1)!;
        const stageSize = count('--stage-size', optional(s, 'stage-size'), 1);
        const successThreshold = fraction('--success', optional(s, 'success'));
        const errorThreshold = fraction('--errors', optional(s, 'errors'));
        const timeoutS = count('--device-timeout', optional(s, 'device-timeout'), 1);
        const forceBy = optional(s, 'force-by');
        const forceReason = optional(s, 'force-reason');
        if ((forceBy === undefined) !== (forceReason === undefined)) throw new UsageError('--force-by and --force-reason go together');
        const targets = await targetsOf(values);
        const client = await clientOf(values, ctx);
        const manifest = await verifyImageFile(arg, values, ctx);
        const image = await readFile(arg).catch((e: Error) => {
          throw new CliError(EXIT.file, `cannot read image ${arg}: ${e.message}`);
        });
        const bar = ctx.progress.start('uploading', image.byteLength);
        const started = await client
          .start({
            ...(optional(s, 'name') !== undefined ? { name: optional(s, 'name') } : {}),
            manifest,
            image: image.toString('base64'),
            targets,
            policy: {
              canary,
              ...(stageSize !== undefined ? { stageSize } : {}),
              ...(successThreshold !== undefined ? { successThreshold } : {}),
              ...(errorThreshold !== undefined ? { errorThreshold } : {}),
              ...(timeoutS !== undefined ? { deviceTimeoutMs: timeoutS * 1000 } : {}),
            },
            ...(forceBy !== undefined && forceReason !== undefined ? { force: { by: forceBy, reason: forceReason } } : {}),
          })
          .finally(() => {
            bar.advance(image.byteLength);
            bar.done();
          });
        ctx.io.out(`rollout ${started.id} started: ${started.counts.total} targets in ${started.stages.length} stages`);
        if (!values.watch) return EXIT.ok;
        return finish(await watch(client, started.id, intervalMs, ctx), ctx);
      }
      case 'status': {
        const r = await (await clientOf(values, ctx)).get(arg);
        ctx.io.out(values.json ? JSON.stringify(r, null, 2) : describeRollout(r));
        return EXIT.ok;
      }
      case 'watch':
        return finish(await watch(await clientOf(values, ctx), arg, intervalMs, ctx), ctx);
      case 'pause':
      case 'resume':
      case 'abort': {
        const r = await (await clientOf(values, ctx)).act(arg, sub);
        ctx.io.out(describeRollout(r));
        return EXIT.ok;
      }
      default:
        throw new UsageError(`rollout: unknown subcommand ${JSON.stringify(sub ?? '')}; one of start, status, watch, pause, resume, abort`);
    }
  },
};
