// The straightforward per-object implementation of the same dimming policy: one object per
// luminaire, string keys, everything evaluated per luminaire. It exists as the benchmark baseline and
// as a test oracle for DimmingEngine (same inputs must give the same commands). Supports program,
// group overrides, CLO, class minimum and hysteresis — not sensors, luminaire overrides or power caps.
import type { SchedulerConfig } from './config-schema';
import { parseSchedulerConfig } from './config-schema';
import type { LuminaireSpec } from './dimming-engine';
import { ProgramCompiler, cloFactor } from './program-table';

interface LuminaireObject {
  id: string;
  group: string;
  lightingClass: string | undefined;
  nominalW: number;
  operatingHours: number;
  lastCommanded: number | undefined;
}

export interface LevelCommand {
  id: string;
  level: number;
}

export class PerObjectDimming {
  private readonly luminaires: LuminaireObject[] = [];
  private cfg: SchedulerConfig | null = null;
  private compiler: ProgramCompiler | null = null;
  private groups = new Map<string, SchedulerConfig['groups'][number]>();
  private classMin = new Map<string, number>();

  register(spec: LuminaireSpec): void {
    this.luminaires.push({
      id: spec.id,
      group: spec.group,
      lightingClass: spec.lightingClass,
      nominalW: spec.nominalW,
      operatingHours: spec.operatingHours ?? 0,
      lastCommanded: undefined,
    });
  }

  applyConfig(input: unknown): boolean {
    const r = parseSchedulerConfig(input);
    if (!r.ok) return false;
    this.cfg = r.value;
    this.compiler = new ProgramCompiler(r.value);
    this.groups = new Map(r.value.groups.map((g) => [g.id, g]));
    this.classMin = new Map(r.value.lightingClasses.map((c) => [c.name, c.minLevel]));
    return true;
  }

  tick(nowMs: number): LevelCommand[] {
    const cfg = this.cfg;
    const compiler = this.compiler;
    const out: LevelCommand[] = [];
    if (!cfg || !compiler) return out;
    for (const lum of this.luminaires) {
      const group = this.groups.get(lum.group);
      if (!group) continue;
      let level: number;
      const override = cfg.overrides
        .filter((o) => o.group === group.id && o.startMs <= nowMs && o.expiresMs > nowMs)
        .sort((a, b) => b.issuedAtMs - a.issuedAtMs)[0];
      if (override) level = override.level;
      else {
        const calendar = compiler.calendarIndex.get(group.calendar) ?? -1;
        level = compiler.levelAt(calendar, nowMs, group.latitude ?? cfg.site.latitude, group.longitude ?? cfg.site.longitude);
        if (Number.isNaN(level)) continue;
        if (level > 0) {
          level = Math.min(100, level * Math.fround(cloFactor(cfg.clo, lum.operatingHours)));
          const min = lum.lightingClass === undefined ? 0 : (this.classMin.get(lum.lightingClass) ?? 0);
          level = Math.max(level, min);
        }
      }
      level = Math.fround(level);
      const last = lum.lastCommanded;
      if (last === undefined || Math.abs(level - last) >= cfg.hysteresisPercent || (level === 0) !== (last === 0)) {
        lum.lastCommanded = level;
        out.push({ id: lum.id, level });
      }
    }
    return out;
  }
}
