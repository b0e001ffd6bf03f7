// A careful per-object implementation of the same dimming policy: one object per luminaire and per
// group, linked by reference. Each tick resolves every group's level once (override or program step)
// and then walks the luminaires; each luminaire's CLO factor and class minimum are computed once, when
// it is registered or a config arrives, not per tick. It is what a competent first implementation
// would be, so the DimmingEngine's benchmark ratio against it measures the data layout (typed arrays,
// shared schedule slots), not avoidable waste in the baseline. It is also a test oracle: the same
// inputs must give the same commands as DimmingEngine (asserted in the engine's tests and in the
// benchmark run). Supports program, group overrides, CLO, class minimum and hysteresis — not sensors,
// luminaire overrides or power caps.
import type { SchedulerConfig } from './config-schema';
import { parseSchedulerConfig } from './config-schema';
import type { LuminaireSpec } from './dimming-engine';
import { ProgramCompiler, cloFactor } from './program-table';

interface GroupObject {
  calendar: number;
  latitude: number;
  longitude: number;
  /** level for this tick; NaN = no program known (send nothing) */
  level: number;
  /** a group override is in force: its level is sent as given (no CLO, no class minimum) */
  exact: boolean;
  overrideIssuedAtMs: number;
}

interface LuminaireObject {
  id: string;
  groupName: string;
  lightingClass: string | undefined;
  operatingHours: number;
  group: GroupObject | undefined;
  /** CLO factor for this lamp's hours, as float32 like the engine's state */
  clo: number;
  classMin: number;
  /** float32, NaN = never commanded */
  lastCommanded: number;
}

export interface LevelCommand {
  id: string;
  level: number;
}

export class PerObjectDimming {
  /** iteration order = registration order, like the engine's dense indices; the Map finds by id */
  private readonly luminaires: LuminaireObject[] = [];
  private readonly byId = new Map<string, LuminaireObject>();
  private cfg: SchedulerConfig | null = null;
  private compiler: ProgramCompiler | null = null;
  private groups = new Map<string, GroupObject>();
  private classMin = new Map<string, number>();

  /** Register (or update) a luminaire. */
  register(spec: LuminaireSpec): void {
    const existing = this.byId.get(spec.id);
    const lum: LuminaireObject = existing ?? {
      id: spec.id,
      groupName: spec.group,
      lightingClass: spec.lightingClass,
      operatingHours: 0,
      group: undefined,
      clo: 1,
      classMin: 0,
      lastCommanded: Number.NaN,
    };
    lum.groupName = spec.group;
    lum.lightingClass = spec.lightingClass;
    lum.operatingHours = spec.operatingHours ?? 0;
    this.bind(lum);
    if (!existing) {
      this.byId.set(spec.id, lum);
      this.luminaires.push(lum);
    }
  }

  applyConfig(input: unknown): boolean {
    const r = parseSchedulerConfig(input);
    if (!r.ok) return false;
    const cfg = r.value;
    this.cfg = cfg;
    const compiler = new ProgramCompiler(cfg);
    this.compiler = compiler;
    this.groups = new Map(
      cfg.groups.map((g) => [
        g.id,
        {
          calendar: compiler.calendarIndex.get(g.calendar) ?? -1,
          latitude: g.latitude ?? cfg.site.latitude,
          longitude: g.longitude ?? cfg.site.longitude,
          level: Number.NaN,
          exact: false,
          overrideIssuedAtMs: -Infinity,
        },
      ]),
    );
    this.classMin = new Map(cfg.lightingClasses.map((c) => [c.name, c.minLevel]));
    for (const lum of this.luminaires) this.bind(lum);
    return true;
  }

  /** Per-luminaire values that change only with the config or the lamp: computed here, not per tick. */
  private bind(lum: LuminaireObject): void {
    lum.group = this.groups.get(lum.groupName);
    lum.clo = Math.fround(cloFactor(this.cfg?.clo, lum.operatingHours));
    lum.classMin = Math.fround(lum.lightingClass === undefined ? 0 : (this.classMin.get(lum.lightingClass) ?? 0));
  }

  tick(nowMs: number): LevelCommand[] {
    const cfg = this.cfg;
    const compiler = this.compiler;
    const out: LevelCommand[] = [];
    if (!cfg || !compiler) return out;
    // Once per group: the program step in force, then the newest group override (ties: later wins).
    for (const g of this.groups.values()) {
      g.level = Math.fround(compiler.levelAt(g.calendar, nowMs, g.latitude, g.longitude));
      g.exact = false;
      g.overrideIssuedAtMs = -Infinity;
    }
    for (const o of cfg.overrides) {
      if (o.group === undefined || o.startMs > nowMs || o.expiresMs <= nowMs) continue;
      const g = this.groups.get(o.group);
      if (!g || o.issuedAtMs < g.overrideIssuedAtMs) continue;
      g.overrideIssuedAtMs = o.issuedAtMs;
      g.level = Math.fround(o.level);
      g.exact = true;
    }
    const hysteresis = cfg.hysteresisPercent;
    for (const lum of this.luminaires) {
      const g = lum.group;
      if (!g) continue;
      let level = g.level;
      if (Number.isNaN(level)) continue; // no program known: devices keep their last state
      if (!g.exact && level > 0) {
        level = Math.min(100, level * lum.clo);
        level = Math.max(level, lum.classMin);
      }
      const last = lum.lastCommanded;
      const d = level - last;
      if (Number.isNaN(last) || d >= hysteresis || d <= -hysteresis || (level === 0) !== (last === 0)) {
        lum.lastCommanded = Math.fround(level);
        out.push({ id: lum.id, level: lum.lastCommanded });
      }
    }
    return out;
  }
}
