// The dimming tick over a whole city. State is structure-of-arrays in typed arrays indexed by
// luminaire (dense int index) and by group; everything that varies per group (program step, sensor
// boost, group override) is resolved once per group, then two linear passes over luminaires apply
// CLO, class minimum, power cap and hysteresis. Sparse things (per-luminaire overrides, capped groups)
// are handled outside the hot loop.
import type { Override, ParseResult, SchedulerConfig } from './config-schema';
import { parseOverride, parseSchedulerConfig } from './config-schema';
import { ProgramCompiler, cloFactor } from './program-table';
import type { ControlState } from './dynamic-control';
import { envelope, grow } from './dynamic-control';
import { IdTable } from './id-table';

export interface LuminaireSpec {
  id: string;
  group: string;
  lightingClass?: string;
  /** power at level 100, W */
  nominalW: number;
  operatingHours?: number;
  /** 0 = must keep full light (crossings), 1–3 shed in power-cap order, 3 first. Default 2. */
  priority?: number;
}

/** Views into engine buffers, valid until the next tick. */
export interface DimmingChanges {
  count: number;
  /** luminaire indices (see idOf) */
  index: Int32Array;
  /** new level 0–100 */
  level: Float32Array;
}

export type ApplyResult = { ok: true } | { ok: false; error: { path: string; reason: string } };

const TIERS = 4;
const MODE_PROGRAM = 0;
const MODE_EXACT = 1; // group override: level as given, no CLO/min/cap
const MODE_NONE = 2; // no program known: send nothing, devices keep their last state (fail safe)

export class DimmingEngine {
  // ---- per luminaire (SoA) ----
  private n = 0;
  private capacity: number;
  /** ids interned in typed arrays: a string + Map entry per luminaire would cost more than the rest */
  private readonly ids: IdTable;
  private group: Int32Array;
  private lightClass: Uint8Array;
  private priority: Uint8Array;
  private flags: Uint8Array; // bit0: own override this tick
  /** driver power at level 100 in 0.1 W (0–6,553.5 W): 2 B, not 4, and finer than any datasheet */
  private nominalDeciW: Uint16Array;
  private hours: Float32Array;
  private clo: Float32Array;
  private lastCmd: Float32Array; // NaN = never commanded
  private outIndex: Int32Array;
  private outLevel: Float32Array;
  // ---- per group ----
  private readonly groupIndex = new Map<string, number>();
  private g = 0;
  private groupSlot = new Int32Array(16).fill(-1);
  private groupCapW = new Float64Array(16);
  private groupLevel = new Float32Array(16);
  private groupMode = new Uint8Array(16);
  private groupCapped = new Uint8Array(16);
  private tierPower = new Float64Array(16 * TIERS);
  private tierFloor = new Float64Array(16 * TIERS);
  private tierScale = new Float32Array(16 * TIERS);
  private groupOverrideIssued = new Float64Array(16);
  private groupSize = new Int32Array(16);
  /** 1 = a dynamic control drives the group: only these need a member list (sensor fast path) */
  private groupSensed = new Uint8Array(16);
  // ---- per lighting class ----
  private readonly classIndex = new Map<string, number>();
  private classMin = new Float32Array(256);
  // ---- config-derived ----
  private cfg: SchedulerConfig | null = null;
  private groupDefs = new Map<string, SchedulerConfig['groups'][number]>();
  private compiler: ProgramCompiler | null = null;
  private slots: { calendar: number; lat: number; lon: number }[] = [];
  private slotLevel = new Float32Array(0);
  private controls: ControlState[] = [];
  private controlsBySensor = new Map<string, ControlState[]>();
  private overrides: Override[] = [];
  private anyCap = false;
  private hysteresis = 1;
  // ---- sensor fast path: zones touched since the last tick, and group → members (CSR) ----
  private dirtyGroup = new Uint8Array(16);
  private dirtyList = new Int32Array(16);
  private dirtyCount = 0;
  private membersStale = true;
  private memberStart = new Int32Array(1);
  private members = new Int32Array(0);
  private visitList = new Int32Array(16);
  /** luminaires of power-capped groups and their unshed level, decided after their group's total is known */
  private deferred = new Int32Array(1024);
  private deferredLevel = new Float32Array(1024);
  /** level of each luminaire with its own override this tick (sparse; flags bit0 marks them) */
  private readonly ownLevel = new Map<number, number>();

  constructor(initialCapacity = 1024) {
    this.capacity = Math.max(16, initialCapacity);
    const c = this.capacity;
    this.ids = new IdTable(c);
    this.group = new Int32Array(c);
    this.lightClass = new Uint8Array(c);
    this.priority = new Uint8Array(c);
    this.flags = new Uint8Array(c);
    this.nominalDeciW = new Uint16Array(c);
    this.hours = new Float32Array(c);
    this.clo = new Float32Array(c);
    this.lastCmd = new Float32Array(c).fill(Number.NaN);
    this.outIndex = new Int32Array(c);
    this.outLevel = new Float32Array(c);
  }

  get size(): number {
    return this.n;
  }

  idOf(index: number): string {
    return this.ids.idOf(index);
  }

  /** Last level sent for a luminaire (NaN before the first command). */
  commandedLevel(index: number): number {
    return index < this.n ? (this.lastCmd[index] as number) : Number.NaN;
  }

  indexOf(id: string): number {
    return this.ids.indexOf(id);
  }

  /**
   * Bytes of state held for the luminaires: every typed array (per-group and per-class tables
   * included, capacity slack included) and the interned id table with its index. Divide by size for
   * bytes per luminaire. Config objects (programs, calendars, group definitions) are not per luminaire.
   */
  stateBytes(): number {
    const arrays = [
      this.group,
      this.lightClass,
      this.priority,
      this.flags,
      this.nominalDeciW,
      this.hours,
      this.clo,
      this.lastCmd,
      this.outIndex,
      this.outLevel,
      this.groupSlot,
      this.groupCapW,
      this.groupLevel,
      this.groupMode,
      this.groupCapped,
      this.tierPower,
      this.tierFloor,
      this.tierScale,
      this.groupOverrideIssued,
      this.groupSize,
      this.groupSensed,
      this.classMin,
      this.slotLevel,
      this.dirtyGroup,
      this.dirtyList,
      this.memberStart,
      this.members,
      this.visitList,
      this.deferred,
      this.deferredLevel,
    ];
    return arrays.reduce((s, a) => s + a.byteLength, this.ids.byteLength());
  }

  private groupOf(name: string): number {
    let gi = this.groupIndex.get(name);
    if (gi !== undefined) return gi;
    gi = this.g++;
    this.groupIndex.set(name, gi);
    if (gi >= this.groupSlot.length) {
      const size = this.groupSlot.length * 2;
      this.groupSlot = grow(this.groupSlot, size, -1);
      this.groupCapW = grow(this.groupCapW, size);
      this.groupLevel = grow(this.groupLevel, size);
      this.groupMode = grow(this.groupMode, size);
      this.groupCapped = grow(this.groupCapped, size);
      this.groupOverrideIssued = grow(this.groupOverrideIssued, size);
      this.groupSize = grow(this.groupSize, size);
      this.groupSensed = grow(this.groupSensed, size);
      this.dirtyGroup = grow(this.dirtyGroup, size);
      this.dirtyList = grow(this.dirtyList, size);
      this.tierPower = grow(this.tierPower, size * TIERS);
      this.tierFloor = grow(this.tierFloor, size * TIERS);
      this.tierScale = grow(this.tierScale, size * TIERS);
    }
    this.bindGroup(name, gi);
    return gi;
  }

  private classOf(name: string | undefined): number {
    if (name === undefined) return 0;
    let ci = this.classIndex.get(name);
    if (ci !== undefined) return ci;
    ci = this.classIndex.size + 1; // 0 = no class, min 0
    if (ci > 255) throw new RangeError('more than 255 lighting classes');
    this.classIndex.set(name, ci);
    this.classMin[ci] = this.cfg?.lightingClasses.find((c) => c.name === name)?.minLevel ?? 0;
    return ci;
  }

  /** Register (or update) a luminaire; returns its dense index. */
  register(spec: LuminaireSpec): number {
    const i = this.ids.add(spec.id);
    const gi = this.groupOf(spec.group);
    if (i === this.n) {
      this.n++;
      if (i >= this.capacity) this.resize(this.capacity * 2);
      this.lastCmd[i] = Number.NaN;
    } else {
      const old = this.group[i] as number;
      this.groupSize[old] = (this.groupSize[old] as number) - 1;
    }
    this.groupSize[gi] = (this.groupSize[gi] as number) + 1;
    this.group[i] = gi;
    this.membersStale = true;
    this.lightClass[i] = this.classOf(spec.lightingClass);
    this.priority[i] = Math.min(TIERS - 1, Math.max(0, Math.trunc(spec.priority ?? 2)));
    this.nominalDeciW[i] = Math.min(65_535, Math.max(0, Math.round(spec.nominalW * 10)));
    this.hours[i] = spec.operatingHours ?? 0;
    this.clo[i] = cloFactor(this.cfg?.clo, this.hours[i] as number);
    return i;
  }

  setOperatingHours(id: string, hours: number): void {
    const i = this.ids.indexOf(id);
    if (i < 0) return;
    this.hours[i] = hours;
    this.clo[i] = cloFactor(this.cfg?.clo, hours);
  }

  private resize(size: number): void {
    this.capacity = size;
    this.group = grow(this.group, size);
    this.lightClass = grow(this.lightClass, size);
    this.priority = grow(this.priority, size);
    this.flags = grow(this.flags, size);
    this.nominalDeciW = grow(this.nominalDeciW, size);
    this.hours = grow(this.hours, size);
    this.clo = grow(this.clo, size);
    this.lastCmd = grow(this.lastCmd, size, Number.NaN);
    this.outIndex = new Int32Array(size);
    this.outLevel = new Float32Array(size);
  }

  /**
   * Validate and install a whole config. On failure nothing changes — the program in force stays in
   * force — and the error names the offending path (e.g. `programs[2].steps[0].level`).
   */
  applyConfig(input: unknown): ApplyResult {
    const parsed = parseSchedulerConfig(input);
    if (!parsed.ok) return parsed;
    const cfg = parsed.value;
    this.cfg = cfg;
    this.groupDefs = new Map(cfg.groups.map((gd) => [gd.id, gd]));
    this.compiler = new ProgramCompiler(cfg);
    this.hysteresis = cfg.hysteresisPercent;
    this.anyCap = cfg.groups.some((x) => x.powerCapW !== undefined);
    for (const [name, ci] of this.classIndex) this.classMin[ci] = cfg.lightingClasses.find((c) => c.name === name)?.minLevel ?? 0;
    for (const lc of cfg.lightingClasses) this.classOf(lc.name);
    this.slots = [];
    this.groupSlot.fill(-1);
    this.groupCapW.fill(0);
    for (const gd of cfg.groups) this.groupOf(gd.id);
    for (const [name, gi] of this.groupIndex) this.bindGroup(name, gi);
    this.controls = cfg.dynamicControls.map((d) => ({
      cfg: d,
      groups: Int32Array.from(d.groups, (name) => this.groupOf(name)),
      upStartMs: -Infinity,
      upFrom: 0,
      holdUntilMs: -Infinity,
    }));
    this.controlsBySensor = new Map();
    this.groupSensed.fill(0);
    this.membersStale = true;
    for (const c of this.controls) {
      for (let k = 0; k < c.groups.length; k++) this.groupSensed[c.groups[k] as number] = 1;
      for (const s of c.cfg.sensors) {
        const list = this.controlsBySensor.get(s) ?? [];
        list.push(c);
        this.controlsBySensor.set(s, list);
      }
    }
    this.overrides = [...cfg.overrides];
    for (let i = 0; i < this.n; i++) this.clo[i] = cloFactor(cfg.clo, this.hours[i] as number);
    return { ok: true };
  }

  private bindGroup(name: string, gi: number): void {
    const cfg = this.cfg;
    const compiler = this.compiler;
    const gd = this.groupDefs.get(name);
    if (!cfg || !compiler || !gd) return;
    const calendar = compiler.calendarIndex.get(gd.calendar) ?? -1;
    const lat = gd.latitude ?? cfg.site.latitude;
    const lon = gd.longitude ?? cfg.site.longitude;
    let slot = this.slots.findIndex((s) => s.calendar === calendar && s.lat === lat && s.lon === lon);
    if (slot < 0) {
      slot = this.slots.push({ calendar, lat, lon }) - 1;
      this.slotLevel = new Float32Array(this.slots.length);
    }
    this.groupSlot[gi] = slot;
    this.groupCapW[gi] = gd.powerCapW ?? 0;
  }

  /** Add an override at runtime (validated). Same id replaces. */
  addOverride(input: unknown): ParseResult<Override> {
    const r = parseOverride(input);
    if (!r.ok) return r;
    const o = r.value;
    if (o.group !== undefined && !this.groupIndex.has(o.group))
      return { ok: false, error: { path: 'override.group', reason: `unknown group ${o.group}` } };
    this.overrides = this.overrides.filter((x) => x.id !== o.id);
    this.overrides.push(o);
    return r;
  }

  removeOverride(id: string): boolean {
    const before = this.overrides.length;
    this.overrides = this.overrides.filter((x) => x.id !== id);
    return this.overrides.length !== before;
  }

  /** A sensor (motion, traffic) fired. Returns false for an unknown sensor. */
  feedSensorEvent(sensorId: string, atMs: number): boolean {
    const list = this.controlsBySensor.get(sensorId);
    if (!list) return false;
    for (const c of list) {
      if (atMs >= c.holdUntilMs) {
        // idle or ramping down: ramp up again from wherever the envelope is now
        c.upFrom = envelope(c, atMs);
        c.upStartMs = atMs;
      }
      c.holdUntilMs = Math.max(c.holdUntilMs, atMs + c.cfg.holdMs);
      for (let k = 0; k < c.groups.length; k++) {
        const gi = c.groups[k] as number;
        if (this.dirtyGroup[gi] === 0) {
          this.dirtyGroup[gi] = 1;
          this.dirtyList[this.dirtyCount++] = gi;
        }
      }
    }
    return true;
  }

  /** Per-group levels for this tick: program (per schedule slot), then sensor boosts, then overrides. */
  private resolveGroups(now: number): void {
    const compiler = this.compiler;
    const slots = this.slots;
    for (let s = 0; s < slots.length; s++) {
      const sl = slots[s];
      this.slotLevel[s] = compiler && sl ? compiler.levelAt(sl.calendar, now, sl.lat, sl.lon) : Number.NaN;
    }
    const G = this.g;
    const { groupSlot, groupLevel, groupMode, slotLevel, groupOverrideIssued } = this;
    for (let gi = 0; gi < G; gi++) {
      const slot = groupSlot[gi] as number;
      const lv = slot >= 0 ? (slotLevel[slot] as number) : Number.NaN;
      groupLevel[gi] = lv;
      groupMode[gi] = Number.isNaN(lv) ? MODE_NONE : MODE_PROGRAM;
      groupOverrideIssued[gi] = -Infinity;
    }
    for (const c of this.controls) {
      const f = envelope(c, now);
      if (f <= 0) continue;
      const { mode, level, onlyWhenLit } = c.cfg;
      for (let k = 0; k < c.groups.length; k++) {
        const gi = c.groups[k] as number;
        if (groupMode[gi] !== MODE_PROGRAM) continue;
        const p = groupLevel[gi] as number;
        if (onlyWhenLit && p <= 0) continue;
        const v = mode === 'set' ? level : mode === 'max' ? Math.max(p, level) : mode === 'min' ? Math.min(p, level) : p + level;
        groupLevel[gi] = Math.min(100, Math.max(0, p + f * (v - p)));
      }
    }
    // expired overrides drop out (expiry returns the group to its program)
    if (this.overrides.length > 0) this.overrides = this.overrides.filter((o) => o.expiresMs > now);
    for (const o of this.overrides) {
      if (o.group === undefined || o.startMs > now) continue;
      const gi = this.groupIndex.get(o.group);
      if (gi === undefined || o.issuedAtMs < (groupOverrideIssued[gi] as number)) continue;
      groupOverrideIssued[gi] = o.issuedAtMs;
      groupLevel[gi] = o.level;
      groupMode[gi] = MODE_EXACT;
    }
  }

  /** One tick: the luminaires whose commanded level changes, with the new level. */
  tick(nowMs: number): DimmingChanges {
    this.dirtyCount = 0;
    this.dirtyGroup.fill(0);
    this.resolveGroups(nowMs);
    if (this.anyCap) {
      this.tierPower.fill(0, 0, this.g * TIERS);
      this.tierFloor.fill(0, 0, this.g * TIERS);
    }
    return this.evaluate(nowMs, null, this.n);
  }

  /**
   * Fast path for sensor events: evaluate only the zones (groups) whose sensors fired since the last
   * tick, so event → command does not wait for a whole-city pass. Same rules as tick().
   */
  tickSensorZones(nowMs: number): DimmingChanges {
    if (this.dirtyCount === 0) return { count: 0, index: this.outIndex.subarray(0, 0), level: this.outLevel.subarray(0, 0) };
    this.ensureMembers();
    this.resolveGroups(nowMs);
    const starts = this.memberStart;
    let count = 0;
    for (let k = 0; k < this.dirtyCount; k++) {
      const gi = this.dirtyList[k] as number;
      count += (starts[gi + 1] as number) - (starts[gi] as number);
    }
    if (this.visitList.length < count) this.visitList = new Int32Array(Math.max(count, this.visitList.length * 2));
    let m = 0;
    for (let k = 0; k < this.dirtyCount; k++) {
      const gi = this.dirtyList[k] as number;
      this.dirtyGroup[gi] = 0;
      this.tierPower.fill(0, gi * TIERS, gi * TIERS + TIERS);
      this.tierFloor.fill(0, gi * TIERS, gi * TIERS + TIERS);
      for (let j = starts[gi] as number; j < (starts[gi + 1] as number); j++) this.visitList[m++] = this.members[j] as number;
    }
    this.dirtyCount = 0;
    return this.evaluate(nowMs, this.visitList, m);
  }

  /**
   * Group → luminaire lists (CSR), rebuilt after registrations or a config; only the sensor fast path
   * needs it, and only for groups a dynamic control drives, so other luminaires cost nothing here.
   */
  private ensureMembers(): void {
    if (!this.membersStale) return;
    const G = this.g;
    const { group, groupSensed } = this;
    const starts = new Int32Array(G + 1);
    for (let gi = 0; gi < G; gi++) starts[gi + 1] = (starts[gi] as number) + (groupSensed[gi] === 1 ? (this.groupSize[gi] as number) : 0);
    const fill = starts.slice(0, G);
    const members = new Int32Array(starts[G] as number);
    for (let i = 0; i < this.n; i++) {
      const gi = group[i] as number;
      if (groupSensed[gi] !== 1) continue;
      const slot = fill[gi] as number;
      fill[gi] = slot + 1;
      members[slot] = i;
    }
    this.memberStart = starts;
    this.members = members;
    this.membersStale = false;
  }

  /**
   * Luminaires 0..count-1, or `list[0..count)` when given. One pass decides and emits for every
   * luminaire outside power-capped groups; those inside are deferred, their group totals summed, and
   * a second pass over just them sheds power and emits.
   */
  private evaluate(nowMs: number, list: Int32Array | null, count: number): DimmingChanges {
    const overridden = this.applyLuminaireOverrides(nowMs);
    const {
      group,
      lightClass,
      priority,
      flags,
      nominalDeciW,
      clo,
      lastCmd,
      groupLevel,
      groupMode,
      classMin,
      groupCapW,
      tierPower,
      tierFloor,
      outIndex,
      outLevel,
    } = this;
    const anyCap = this.anyCap;
    const hyst = this.hysteresis;
    // Sized before the loop (at most one entry per luminaire of a capped group) so the hot loop has
    // no growth check, and no bigger: it is memory held per luminaire.
    if (anyCap) {
      const need = Math.min(count, this.cappedLuminaires());
      if (this.deferred.length < need) {
        this.deferred = new Int32Array(need);
        this.deferredLevel = new Float32Array(need);
      }
    }
    const { deferred, deferredLevel, ownLevel } = this;
    let nDeferred = 0;
    let out = 0;
    for (let k = 0; k < count; k++) {
      const i = list === null ? k : (list[k] as number);
      const g = group[i] as number;
      let t: number;
      let floor: number;
      if (flags[i] === 1) {
        t = ownLevel.get(i) as number; // own override: exact, never shed
        floor = t;
      } else {
        t = groupLevel[g] as number;
        floor = t;
        if (groupMode[g] === MODE_PROGRAM && t > 0) {
          t *= clo[i] as number;
          if (t > 100) t = 100;
          floor = classMin[lightClass[i] as number] as number;
          if (t < floor) t = floor;
        }
      }
      if (anyCap && (groupCapW[g] as number) > 0) {
        deferredLevel[nDeferred] = t;
        const p = priority[i] as number;
        const tk = g * TIERS + p;
        const w = (nominalDeciW[i] as number) * 0.001; // W per level point: LED driver power ≈ linear in dim level
        tierPower[tk] = (tierPower[tk] as number) + t * w;
        tierFloor[tk] = (tierFloor[tk] as number) + (p === 0 ? t : floor) * w;
        deferred[nDeferred++] = i;
        continue;
      }
      if (Number.isNaN(t)) continue; // no program known, send nothing
      const last = lastCmd[i] as number;
      const d = t - last;
      if (Number.isNaN(last) || d >= hyst || d <= -hyst || (t === 0) !== (last === 0)) {
        lastCmd[i] = t;
        outIndex[out] = i;
        outLevel[out] = t;
        out++;
      }
    }
    if (nDeferred > 0) {
      this.computeCaps();
      const { groupCapped, tierScale } = this;
      for (let k = 0; k < nDeferred; k++) {
        const i = deferred[k] as number;
        let t = deferredLevel[k] as number;
        if (Number.isNaN(t)) continue;
        const g = group[i] as number;
        if (t > 0 && groupCapped[g] === 1 && groupMode[g] === MODE_PROGRAM && flags[i] === 0) {
          const s = tierScale[g * TIERS + (priority[i] as number)] as number;
          const floor = classMin[lightClass[i] as number] as number;
          if (s < 1 && t > floor) t = floor + (t - floor) * s;
        }
        const last = lastCmd[i] as number;
        const d = t - last;
        if (Number.isNaN(last) || d >= hyst || d <= -hyst || (t === 0) !== (last === 0)) {
          lastCmd[i] = t;
          outIndex[out] = i;
          outLevel[out] = t;
          out++;
        }
      }
    }
    for (const i of overridden) flags[i] = 0;
    ownLevel.clear();
    return { count: out, index: outIndex.subarray(0, out), level: outLevel.subarray(0, out) };
  }

  /** Per-luminaire overrides are sparse; newest wins against the group's override. Marks them in flags. */
  private applyLuminaireOverrides(now: number): number[] {
    if (this.overrides.length === 0) return [];
    const { ownLevel, flags, group, groupOverrideIssued } = this;
    const chosen = new Map<number, Override>();
    for (const o of this.overrides) {
      if (o.luminaire === undefined || o.startMs > now) continue;
      const i = this.ids.indexOf(o.luminaire);
      if (i < 0) continue;
      const prev = chosen.get(i);
      if (prev && prev.issuedAtMs > o.issuedAtMs) continue;
      if (o.issuedAtMs < (groupOverrideIssued[group[i] as number] as number)) continue;
      chosen.set(i, o);
    }
    for (const [i, o] of chosen) {
      ownLevel.set(i, Math.fround(o.level)); // float32 like every level the engine holds
      flags[i] = 1;
    }
    return [...chosen.keys()];
  }

  /** Luminaires in power-capped groups: the most a tick can defer. */
  private cappedLuminaires(): number {
    let total = 0;
    for (let gi = 0; gi < this.g; gi++) if ((this.groupCapW[gi] as number) > 0) total += this.groupSize[gi] as number;
    return total;
  }

  /** Per capped group, scale per tier so the projected total fits: tier 3 shed first, tier 0 never. */
  private computeCaps(): boolean {
    const { groupCapW, groupCapped, tierPower, tierFloor, tierScale } = this;
    let any = false;
    for (let gi = 0; gi < this.g; gi++) {
      groupCapped[gi] = 0;
      const cap = groupCapW[gi] as number;
      if (cap <= 0) continue;
      const base = gi * TIERS;
      let total = 0;
      for (let p = 0; p < TIERS; p++) total += tierPower[base + p] as number;
      let excess = total - cap;
      for (let p = 0; p < TIERS; p++) tierScale[base + p] = 1;
      if (excess <= 1e-9) continue;
      groupCapped[gi] = 1;
      any = true;
      for (let p = TIERS - 1; p >= 1 && excess > 0; p--) {
        const reducible = (tierPower[base + p] as number) - (tierFloor[base + p] as number);
        if (reducible <= 0) continue;
        const cut = Math.min(excess, reducible);
        tierScale[base + p] = 1 - cut / reducible;
        excess -= cut;
      }
    }
    return any;
  }
}
