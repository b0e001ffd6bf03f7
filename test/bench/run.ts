// `npm run bench [-- <filter>...] [--quick]` — runs every registered benchmark whose name contains
// one of the filters (all when none). --quick shrinks sizes for a smoke run.
import { benchmarks } from './registry';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const filters = args.filter((a) => !a.startsWith('--'));
const selected = benchmarks.filter((b) => filters.length === 0 || filters.some((f) => b.name.includes(f)));
if (selected.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}`);
  process.exit(1);
}
console.log(`node ${process.version}, ${process.arch}, ${quick ? 'quick' : 'full'} sizes`);
for (const b of selected) {
  console.log(`\n== ${b.name}: ${b.description}`);
  const t = Date.now();
  await b.run({ quick });
  console.log(`   (${((Date.now() - t) / 1000).toFixed(1)} s)`);
}
