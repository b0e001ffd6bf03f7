// `npm run bench [-- <filter>...] [--quick] [--sizes A,B,…]` — runs every registered benchmark whose
// name contains one of the filters (all when none). --quick shrinks sizes for a smoke run; --sizes
// replaces the size ladder of a benchmark that climbs one (cluster), e.g. to check one target size.
import { benchmarks } from './registry';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const sizesAt = args.indexOf('--sizes');
const sizesArg = sizesAt >= 0 ? args[sizesAt + 1] : undefined;
const sizes = sizesArg?.split(',').map(Number);
if (sizesAt >= 0 && (!sizes || sizes.some((n) => !Number.isInteger(n) || n <= 0))) {
  console.error('--sizes wants positive integers separated by commas, e.g. --sizes 100000');
  process.exit(2);
}
const filters = args.filter((a, i) => !a.startsWith('--') && !(sizesAt >= 0 && i === sizesAt + 1));
const selected = benchmarks.filter((b) => filters.length === 0 || filters.some((f) => b.name.includes(f)));
if (selected.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}`);
  process.exit(1);
}
console.log(`node ${process.version}, ${process.arch}, ${quick ? 'quick' : 'full'} sizes`);
for (const b of selected) {
  console.log(`\n== ${b.name}: ${b.description}`);
  const t = Date.now();
  await b.run({ quick, ...(sizes ? { sizes } : {}) });
  console.log(`   (${((Date.now() - t) / 1000).toFixed(1)} s)`);
}
