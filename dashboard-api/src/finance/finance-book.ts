import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';

/**
 * What the municipalities collect and invested: the public-lighting contribution (CIP/COSIP) per
 * month and the LED retrofit investment, entered through the API, kept in one small JSON file
 * (rewritten whole: temp file + rename).
 */
export const MonthSchema = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'month: YYYY-MM');
const FinanceFileSchema = z.object({
  v: z.literal(1),
  revenue: z.record(z.string(), z.record(MonthSchema, z.number().min(0))),
  investment: z.record(z.string(), z.object({ ledRetrofitBrl: z.number().min(0), enteredBy: z.string(), at: z.number().int() })),
});
export type FinanceData = z.infer<typeof FinanceFileSchema>;

export interface FinanceBook {
  data(): FinanceData;
  setRevenue(municipality: string, month: string, brl: number): Promise<void>;
  setInvestment(municipality: string, brl: number, by: string, at: number): Promise<void>;
}

export async function openFinanceBook(file?: string): Promise<FinanceBook> {
  let data: FinanceData = { v: 1, revenue: {}, investment: {} };
  if (file) {
    try {
      const parsed = FinanceFileSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
      if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
      data = parsed.data;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  let writing: Promise<void> = Promise.resolve();
  const save = () => {
    if (!file) return Promise.resolve();
    const text = `${JSON.stringify(data, null, 1)}\n`;
    writing = writing.then(async () => {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(`${file}.tmp`, text, { mode: 0o600 });
      await rename(`${file}.tmp`, file);
    });
    return writing;
  };
  return {
    data: () => data,
    setRevenue(m, month, brl) {
      data.revenue[m] ??= {};
      data.revenue[m][month] = brl;
      return save();
    },
    setInvestment(m, brl, by, at) {
      data.investment[m] = { ledRetrofitBrl: brl, enteredBy: by, at };
      return save();
    },
  };
}
