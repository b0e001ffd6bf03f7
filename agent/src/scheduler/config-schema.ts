// Scheduler configuration (TALQ-shaped): calendars choose control programs per local date; programs
// are fixed-time and astro steps; dynamic controls react to sensors; overrides pin levels for a while.
// Everything the agent receives is validated here; cross-references (ids) are checked too so an
// engine never compiles a program that points at nothing.
import * as z from 'zod';
import { isValidTimeZone } from './time-zone';

const Level = z.number().min(0).max(100);
const IsoDate = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'expected YYYY-MM-DD');
const Id = z.string().min(1).max(128);

export const FixedStepSchema = z.object({
  kind: z.literal('fixed'),
  /** local wall time in the site's zone */
  time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM'),
  level: Level,
});

export const AstroStepSchema = z.object({
  kind: z.literal('astro'),
  event: z.enum(['sunset', 'sunrise', 'civilDusk', 'civilDawn']),
  offsetMinutes: z.number().min(-240).max(240).default(0),
  level: Level,
});

export const ProgramStepSchema = z.discriminatedUnion('kind', [FixedStepSchema, AstroStepSchema]);

export const ProgramSchema = z.object({
  id: Id,
  steps: z.array(ProgramStepSchema).min(1),
});

/** A rule matches a local date when every criterion it states matches. First matching rule wins. */
export const CalendarRuleSchema = z
  .object({
    program: Id,
    dates: z.array(IsoDate).optional(),
    from: IsoDate.optional(),
    to: IsoDate.optional(),
    /** 0 = Sunday … 6 = Saturday */
    weekdays: z.array(z.number().int().min(0).max(6)).optional(),
    /** true: only on holidays; false: only on non-holidays */
    holiday: z.boolean().optional(),
  })
  .refine((r) => r.from === undefined || r.to === undefined || r.from <= r.to, { message: 'from after to', path: ['to'] });

export const CalendarSchema = z.object({
  id: Id,
  rules: z.array(CalendarRuleSchema),
  /** program when no rule matches */
  defaultProgram: Id,
});

export const GroupSchema = z.object({
  id: Id,
  calendar: Id,
  /** sum of projected power above this is shed from low-priority luminaires first */
  powerCapW: z.number().positive().optional(),
  latitude: z.number().min(-90).max(90).optional(),
  longitude: z.number().min(-180).max(180).optional(),
  /** lighting class of the group's luminaires (one of lightingClasses), applied by the agent at registration */
  lightingClass: Id.optional(),
  /** power-cap priority of the group's luminaires: 0 = never shed (crossings) … 3 = shed first */
  priority: z.number().int().min(0).max(3).optional(),
});

export const LightingClassSchema = z.object({
  name: Id,
  /** when lit, never below this level (EN 13201 class minimum expressed as dim level) */
  minLevel: Level,
});

export const DynamicControlSchema = z.object({
  id: Id,
  sensors: z.array(Id).min(1),
  groups: z.array(Id).min(1),
  mode: z.enum(['set', 'max', 'min', 'add']),
  level: z.number().min(-100).max(100),
  holdMs: z.number().int().min(0).max(86_400_000),
  rampUpMs: z.number().int().min(0).max(3_600_000).default(0),
  rampDownMs: z.number().int().min(0).max(3_600_000).default(0),
  /** only act while the program has the lamp on (no lighting up in daylight) */
  onlyWhenLit: z.boolean().default(true),
});

export const OverrideSchema = z
  .object({
    id: Id,
    luminaire: Id.optional(),
    group: Id.optional(),
    level: Level,
    startMs: z.number().int().nonnegative(),
    expiresMs: z.number().int().positive(),
    /** newest wins among overlapping overrides */
    issuedAtMs: z.number().int().nonnegative(),
  })
  .refine((o) => (o.luminaire === undefined) !== (o.group === undefined), {
    message: 'exactly one of luminaire or group',
  })
  .refine((o) => o.expiresMs > o.startMs, { message: 'expiresMs must be after startMs', path: ['expiresMs'] });

export const CloSchema = z.object({
  /** lumen maintenance by operating hours, ascending hours, maintenance 0–1 */
  curve: z
    .array(z.object({ hours: z.number().min(0), maintenance: z.number().gt(0).max(1) }))
    .min(1)
    .refine((c) => c.every((p, i) => i === 0 || p.hours > (c[i - 1]?.hours ?? -1)), { message: 'hours must ascend' }),
  /** design maintenance factor the installation was sized for (e.g. 0.8): new lamps are driven to this */
  maintenanceFactor: z.number().gt(0).max(1),
});

export const SchedulerConfigSchema = z
  .object({
    site: z.object({
      timeZone: z.string().refine(isValidTimeZone, { message: 'unknown IANA time zone' }),
      latitude: z.number().min(-90).max(90),
      longitude: z.number().min(-180).max(180),
    }),
    lightingClasses: z.array(LightingClassSchema).default([]),
    holidays: z.array(IsoDate).default([]),
    programs: z.array(ProgramSchema).min(1),
    calendars: z.array(CalendarSchema).min(1),
    groups: z.array(GroupSchema).default([]),
    dynamicControls: z.array(DynamicControlSchema).default([]),
    overrides: z.array(OverrideSchema).default([]),
    clo: CloSchema.optional(),
    /** commands only when the level moves at least this much (or switches on/off) */
    hysteresisPercent: z.number().min(0).max(50).default(1),
  })
  .superRefine((cfg, ctx) => {
    const programs = new Set(cfg.programs.map((p) => p.id));
    const calendars = new Set(cfg.calendars.map((c) => c.id));
    const groups = new Set(cfg.groups.map((g) => g.id));
    cfg.calendars.forEach((c, ci) => {
      if (!programs.has(c.defaultProgram))
        ctx.addIssue({ code: 'custom', path: ['calendars', ci, 'defaultProgram'], message: `unknown program ${c.defaultProgram}` });
      c.rules.forEach((r, ri) => {
        if (!programs.has(r.program))
          ctx.addIssue({ code: 'custom', path: ['calendars', ci, 'rules', ri, 'program'], message: `unknown program ${r.program}` });
      });
    });
    const classes = new Set(cfg.lightingClasses.map((c) => c.name));
    cfg.groups.forEach((g, gi) => {
      if (!calendars.has(g.calendar))
        ctx.addIssue({ code: 'custom', path: ['groups', gi, 'calendar'], message: `unknown calendar ${g.calendar}` });
      if (g.lightingClass !== undefined && !classes.has(g.lightingClass))
        ctx.addIssue({ code: 'custom', path: ['groups', gi, 'lightingClass'], message: `unknown lighting class ${g.lightingClass}` });
    });
    cfg.dynamicControls.forEach((d, di) => {
      d.groups.forEach((g, k) => {
        if (!groups.has(g)) ctx.addIssue({ code: 'custom', path: ['dynamicControls', di, 'groups', k], message: `unknown group ${g}` });
      });
    });
    cfg.overrides.forEach((o, oi) => {
      if (o.group !== undefined && !groups.has(o.group))
        ctx.addIssue({ code: 'custom', path: ['overrides', oi, 'group'], message: `unknown group ${o.group}` });
    });
    for (const [name, list] of [
      ['programs', cfg.programs],
      ['calendars', cfg.calendars],
      ['groups', cfg.groups],
    ] as const) {
      const seen = new Set<string>();
      list.forEach((x, i) => {
        if (seen.has(x.id)) ctx.addIssue({ code: 'custom', path: [name, i, 'id'], message: `duplicate id ${x.id}` });
        seen.add(x.id);
      });
    }
  });

export type SchedulerConfigInput = z.input<typeof SchedulerConfigSchema>;
export type SchedulerConfig = z.output<typeof SchedulerConfigSchema>;
export type Program = z.output<typeof ProgramSchema>;
export type ProgramStep = z.output<typeof ProgramStepSchema>;
export type Calendar = z.output<typeof CalendarSchema>;
export type DynamicControl = z.output<typeof DynamicControlSchema>;
export type Override = z.output<typeof OverrideSchema>;
export type OverrideInput = z.input<typeof OverrideSchema>;
export type CloConfig = z.output<typeof CloSchema>;

export interface ConfigError {
  /** e.g. `programs[2].steps[0].level` */
  path: string;
  reason: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ConfigError };

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(root)' : out;
}

function parseWith<T>(schema: z.ZodType<T>, input: unknown, prefix: readonly PropertyKey[] = []): ParseResult<T> {
  const r = schema.safeParse(input);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  return {
    ok: false,
    error: { path: formatPath([...prefix, ...(issue?.path ?? [])]), reason: issue?.message ?? 'invalid' },
  };
}

export function parseSchedulerConfig(input: unknown): ParseResult<SchedulerConfig> {
  return parseWith(SchedulerConfigSchema, input);
}

export function parseOverride(input: unknown): ParseResult<Override> {
  return parseWith(OverrideSchema, input, ['override']);
}
