// The cloud's rollout API as poste-firmware uses it: every answer is checked against the shared
// schema, and every failure becomes the exit code a script can act on — the cloud unreachable or
// refusing the token (6), or saying no to this request (1: no such rollout, wrong state, image not
// matching its manifest).
import { type RolloutAction, type RolloutRequest, type RolloutView, RolloutViewSchema } from '@poste/protocol';
import { z } from 'zod';
import { CliError, EXIT } from './exit-codes';

export interface RolloutClient {
  start(request: RolloutRequest): Promise<RolloutView>;
  get(id: string): Promise<RolloutView>;
  act(id: string, action: RolloutAction): Promise<RolloutView>;
}

const ErrorBodySchema = z.object({
  message: z.string().optional(),
  issues: z.array(z.object({ path: z.string(), reason: z.string() })).optional(),
});

function explain(status: number, body: unknown): string {
  const e = ErrorBodySchema.safeParse(body);
  if (!e.success) return `HTTP ${status}`;
  if (e.data.issues) return e.data.issues.map((i) => `${i.path}: ${i.reason}`).join('; ');
  return e.data.message ?? `HTTP ${status}`;
}

export function rolloutClient(apiUrl: string, token: string): RolloutClient {
  const base = apiUrl.replace(/\/+$/, '');
  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<RolloutView> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      throw new CliError(EXIT.unreachable, `cloud API ${base} unreachable: ${(err as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      json = undefined;
    }
    if (res.status === 401 || res.status === 403 || res.status >= 500) {
      throw new CliError(EXIT.unreachable, `cloud API refused (${res.status}): ${explain(res.status, json)}`);
    }
    if (!res.ok) throw new CliError(EXIT.refused, `cloud API said no (${res.status}): ${explain(res.status, json)}`);
    const parsed = RolloutViewSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CliError(
        EXIT.unreachable,
        `cloud API answered something that is not a rollout: ${issue?.path.join('.')}: ${issue?.message}`,
      );
    }
    return parsed.data;
  }
  return {
    start: (request) => call('POST', '/api/v1/rollouts', request),
    get: (id) => call('GET', `/api/v1/rollouts/${encodeURIComponent(id)}`),
    act: (id, action) => call('POST', `/api/v1/rollouts/${encodeURIComponent(id)}/${action}`),
  };
}

/** A rollout in a few lines: state, stages, counts, and the targets that failed. */
export function describeRollout(r: RolloutView): string {
  const lines = [
    `rollout ${r.id}${r.name ? ` (${r.name})` : ''}: ${r.state}${r.reason ? ` — ${r.reason}` : ''}`,
    `image ${r.image.family}/${r.image.model} ${r.image.version}, ${r.image.size} bytes`,
    `targets ${r.counts.total}: ${r.counts.committed} committed, ${r.counts.failed} failed, ${r.counts.inProgress} in progress, ${r.counts.waiting} waiting or skipped`,
    ...r.stages.map(
      (s) => `  stage ${s.index}${s.index === 0 ? ' (canary)' : ''}: ${s.state}, ${s.committed}/${s.targets} committed, ${s.failed} failed`,
    ),
  ];
  const failed = r.targets.filter((t) => ['rolledBack', 'refused', 'failed', 'timedOut'].includes(t.outcome));
  for (const t of failed.slice(0, 20)) lines.push(`  ✗ ${t.gateway}/${t.device}: ${t.outcome}${t.detail ? ` (${t.detail})` : ''}`);
  if (failed.length > 20) lines.push(`  … and ${failed.length - 20} more failed`);
  return lines.join('\n');
}
