// Versioned agent settings (the Zigbee2MQTT way): a config carries `configVersion`; older versions
// are brought forward one step at a time before validation, so files written for an older agent
// keep working and the agent says what it changed. Absent `configVersion` means version 1.
import type { PayloadError } from '@poste/protocol';

export const CURRENT_CONFIG_VERSION = 3;

/** One step forward: from version N to N+1. Returns the new settings and a note when it changed something. */
type MigrationStep = (
  settings: Record<string, unknown>,
) => { settings: Record<string, unknown>; note?: string; renamed?: PathRename } | PayloadError;

/** A key that moved, so an error found after migration can be reported in the file's own terms. */
export interface PathRename {
  from: string;
  to: string;
}

const STEPS: Record<number, MigrationStep> = {
  // Version 2 brings device adapters: the single LAN endpoint `local: {host, port}` becomes the
  // first (and only) adapter, of kind `poste`.
  1: (s) => {
    if (!('local' in s)) return { settings: s };
    if ('adapters' in s) {
      return {
        path: 'local',
        reason: 'local (version 1) and adapters (version 2) both present: keep adapters, drop local, set configVersion 2',
      };
    }
    const { local, ...rest } = s;
    if (typeof local !== 'object' || local === null || Array.isArray(local)) {
      return { path: 'local', reason: 'expected an object {host, port}' };
    }
    return {
      settings: { ...rest, adapters: [{ kind: 'poste', ...(local as Record<string, unknown>) }] },
      note: 'local {host, port} became adapters[0] {kind: "poste", host, port}',
      renamed: { from: 'local', to: 'adapters[0]' },
    };
  },
  // Version 3 makes the LAN's access explicit: a `poste` adapter states `auth` (device credentials,
  // or open). Before, every LAN broker was open; a version 2 file keeps exactly that, and says so.
  2: (s) => {
    if (!Array.isArray(s.adapters)) return { settings: s };
    const opened: number[] = [];
    const adapters = s.adapters.map((a: unknown, i: number) => {
      if (typeof a !== 'object' || a === null || Array.isArray(a)) return a;
      const entry = a as Record<string, unknown>;
      if (entry.kind !== 'poste' || 'auth' in entry) return a;
      opened.push(i);
      return { ...entry, auth: { mode: 'open' } };
    });
    if (opened.length === 0) return { settings: s };
    return {
      settings: { ...s, adapters },
      note: `${opened.map((i) => `adapters[${i}]`).join(', ')} (poste) had no auth: auth {mode: "open"} added, as before — its LAN accepts any client; provision device credentials (auth {mode: "credentials", credentialsFile})`,
    };
  },
};

export type MigrationResult =
  | { ok: true; settings: Record<string, unknown>; from: number; to: number; notes: string[]; renamed: PathRename[] }
  | { ok: false; error: PayloadError };

/**
 * Brings raw settings (a parsed config file, or startAgent's input) to CURRENT_CONFIG_VERSION.
 * Copies shallowly: injected objects (clock, logger, extensions) pass through untouched. Fields are
 * not validated here; the current schema does that afterwards.
 */
export function migrateAgentSettings(raw: unknown): MigrationResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, error: { path: '', reason: 'expected an object' } };
  const declared = (raw as { configVersion?: unknown }).configVersion;
  const from = declared === undefined ? 1 : declared;
  if (typeof from !== 'number' || !Number.isInteger(from) || from < 1 || from > CURRENT_CONFIG_VERSION) {
    return {
      ok: false,
      error: {
        path: 'configVersion',
        reason: `unsupported ${JSON.stringify(declared)}: this agent reads versions 1 to ${CURRENT_CONFIG_VERSION}`,
      },
    };
  }
  let settings: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  const notes: string[] = [];
  const renamed: PathRename[] = [];
  for (let v = from; v < CURRENT_CONFIG_VERSION; v++) {
    const step = STEPS[v];
    if (step === undefined) return { ok: false, error: { path: 'configVersion', reason: `no migration from version ${v}` } };
    const r = step(settings);
    if ('reason' in r) return { ok: false, error: r };
    settings = r.settings;
    if (r.note !== undefined) notes.push(`version ${v} → ${v + 1}: ${r.note}`);
    if (r.renamed !== undefined) renamed.push(r.renamed);
  }
  settings.configVersion = CURRENT_CONFIG_VERSION;
  return { ok: true, settings, from, to: CURRENT_CONFIG_VERSION, notes, renamed };
}

/** Reports a validation error found after migration under the key the caller actually wrote. */
export function pathBeforeMigration(path: string, renamed: readonly PathRename[]): string {
  for (const r of renamed) {
    if (path === r.to) return r.from;
    if (path.startsWith(`${r.to}.`) || path.startsWith(`${r.to}[`)) return `${r.from}${path.slice(r.to.length)}`;
  }
  return path;
}
