// Tasmota payloads ↔ Poste values, pure functions. Tasmota reports energy in kWh (ENERGY.Total,
// Today, Yesterday), power in W, voltage in V, current in A, Factor 0..1; Poste wants cumulative
// Wh and the same SI units (protocol/src/telemetry.ts). Fields Tasmota does not report
// (operating hours, switch-on count) are counted by the adapter from what it sees (controller.ts).

/** Parses a Tasmota JSON payload; null when it is not a JSON object. */
export function parseTasmotaJson(payload: Buffer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(payload.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `"ON"`/`"OFF"` from POWER or POWER1 (a one-channel controller answers either); undefined when absent. */
export function powerOf(json: Record<string, unknown>): boolean | undefined {
  const p = json.POWER ?? json.POWER1;
  if (p === 'ON') return true;
  if (p === 'OFF') return false;
  return undefined;
}

export function dimmerOf(json: Record<string, unknown>): number | undefined {
  const d = json.Dimmer;
  return typeof d === 'number' && Number.isFinite(d) ? d : undefined;
}

/** What the adapter knows of one controller when a reading is mapped. */
export interface LuminaireView {
  device: string;
  power: boolean | undefined;
  dimmer: number | undefined;
  operatingHours: number;
  switchOnCounter: number;
}

/** Poste's dim level: 0 while the relay is off, else the Dimmer (100 for a relay-only controller). */
export function dimLevelOf(view: Pick<LuminaireView, 'power' | 'dimmer'>): number {
  if (view.power === false) return 0;
  return view.dimmer ?? 100;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/**
 * `tele/<topic>/SENSOR` with an `ENERGY` object → a luminaire reading (`kind: 'luminaire'`).
 * Missing or non-numeric fields stay undefined so the agent's validation refuses the reading with
 * the Poste path that is missing: the adapter does not pre-filter (docs/adding-a-device-adapter.md).
 */
export function readingFromSensor(json: Record<string, unknown>, view: LuminaireView, ts: number): Record<string, unknown> {
  const energy = (typeof json.ENERGY === 'object' && json.ENERGY !== null ? json.ENERGY : {}) as Record<string, unknown>;
  const totalKwh = num(energy.Total);
  return {
    kind: 'luminaire',
    device: view.device,
    ts,
    activePower: num(energy.Power),
    // kWh → Wh; rounded to the mWh so float noise does not look like a change.
    activeEnergy: totalKwh === undefined ? undefined : Math.round(totalKwh * 1_000_000) / 1_000,
    dimLevel: dimLevelOf(view),
    voltage: num(energy.Voltage),
    current: num(energy.Current),
    powerFactor: num(energy.Factor),
    operatingHours: Math.round(view.operatingHours * 1_000) / 1_000,
    switchOnCounter: view.switchOnCounter,
    status: 'ok',
  };
}

/** One Tasmota command: `cmnd/<topic>/<name>` with a text payload, and the RESULT that confirms it. */
export interface TasmotaCommand {
  name: 'Dimmer' | 'Power';
  payload: string;
  /** The RESULT fields that show the command was executed. */
  expect: { power: boolean; dimmer?: number };
}

/** A Poste level (0..100 %) as the Tasmota command that sets it: Power OFF for 0, else Dimmer (which also switches on). */
export function levelCommand(level: number): TasmotaCommand {
  const rounded = Math.round(level);
  if (rounded <= 0) return { name: 'Power', payload: 'OFF', expect: { power: false } };
  return { name: 'Dimmer', payload: String(rounded), expect: { power: true, dimmer: rounded } };
}

/** Whether a RESULT shows that `cmd` was executed. */
export function resultConfirms(json: Record<string, unknown>, expect: TasmotaCommand['expect']): boolean {
  const power = powerOf(json);
  const dimmer = dimmerOf(json);
  if (expect.dimmer !== undefined) return dimmer === expect.dimmer && power !== false;
  return power === expect.power;
}

/**
 * Tasmota answers a command it cannot execute with `{"Command":"Unknown"}` or `{"Command":"Error"}`
 * on RESULT; the text is the refusal's detail, null for any other RESULT.
 */
export function resultRefusal(json: Record<string, unknown>): string | null {
  const c = json.Command;
  if (c === 'Unknown' || c === 'Error') return `Tasmota answered {"Command":"${c}"}`;
  return null;
}
