import type { EnergySeries } from '../energy-series';
import type { FinanceData } from './finance-book';

/**
 * Spend against revenue per municipality (pure): per month the public-lighting energy spend in R$
 * as measured and as billed by estimated hours, the CIP/COSIP revenue entered, their ratios; the
 * trend (least-squares slope of the measured ratio, per month); the retrofit payback (investment ÷
 * mean monthly retrofit savings in R$).
 */
export interface MonthFigures {
  month: string;
  measuredSpendBrl: number;
  billedSpendBrl: number;
  savedBrl: number;
  revenueBrl?: number;
  measuredRatio?: number;
  billedRatio?: number;
}

export interface MunicipalityFinance {
  municipality: string;
  name: string;
  months: MonthFigures[];
  measuredSpendBrl: number;
  billedSpendBrl: number;
  revenueBrl: number;
  measuredRatio?: number;
  billedRatio?: number;
  /** change of the measured ratio per month (negative: spend falling against revenue) */
  trendPerMonth?: number;
  investmentBrl?: number;
  paybackMonths?: number;
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

function slope(ys: number[]): number | undefined {
  if (ys.length < 2) return undefined;
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

export function municipalityFinance(
  m: { id: string; name: string; tariffBrlPerKwh: number },
  series: EnergySeries,
  months: readonly string[],
  finance: FinanceData,
): MunicipalityFinance {
  const byMonth = new Map(series.points.map((p) => [p.period, p]));
  const revenue = finance.revenue[m.id] ?? {};
  const rows: MonthFigures[] = months.map((month) => {
    const p = byMonth.get(month);
    const measured = (p?.measuredKwh ?? 0) * m.tariffBrlPerKwh;
    const billed = (p?.billingBaselineKwh ?? 0) * m.tariffBrlPerKwh;
    const rev = revenue[month];
    return {
      month,
      measuredSpendBrl: r2(measured),
      billedSpendBrl: r2(billed),
      savedBrl: r2(p?.savedBrl ?? 0),
      ...(rev !== undefined ? { revenueBrl: rev } : {}),
      ...(rev ? { measuredRatio: r4(measured / rev), billedRatio: r4(billed / rev) } : {}),
    };
  });
  const withRevenue = rows.filter((r) => r.revenueBrl);
  const sum = (k: 'measuredSpendBrl' | 'billedSpendBrl', list = rows) => list.reduce((s, r) => s + r[k], 0);
  const revenueBrl = withRevenue.reduce((s, r) => s + (r.revenueBrl ?? 0), 0);
  const monthsWithData = rows.filter((r) => byMonth.has(r.month));
  const meanSaved = monthsWithData.length ? monthsWithData.reduce((s, r) => s + r.savedBrl, 0) / monthsWithData.length : 0;
  const investment = finance.investment[m.id]?.ledRetrofitBrl;
  const trend = slope(withRevenue.map((r) => r.measuredRatio ?? 0));
  return {
    municipality: m.id,
    name: m.name,
    months: rows,
    measuredSpendBrl: r2(sum('measuredSpendBrl')),
    billedSpendBrl: r2(sum('billedSpendBrl')),
    revenueBrl: r2(revenueBrl),
    ...(revenueBrl
      ? {
          measuredRatio: r4(sum('measuredSpendBrl', withRevenue) / revenueBrl),
          billedRatio: r4(sum('billedSpendBrl', withRevenue) / revenueBrl),
        }
      : {}),
    ...(trend !== undefined ? { trendPerMonth: r4(trend) } : {}),
    ...(investment !== undefined ? { investmentBrl: investment } : {}),
    ...(investment !== undefined && meanSaved > 0 ? { paybackMonths: Math.round((investment / meanSaved) * 10) / 10 } : {}),
  };
}

/** YYYY-MM months from `from` to `to`, inclusive. */
export function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  let [y, mo] = from.split('-').map(Number) as [number, number];
  const [ty, tm] = to.split('-').map(Number) as [number, number];
  while (y < ty || (y === ty && mo <= tm)) {
    out.push(`${y}-${String(mo).padStart(2, '0')}`);
    mo += 1;
    if (mo > 12) {
      mo = 1;
      y += 1;
    }
  }
  return out;
}
