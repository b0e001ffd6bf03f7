// `npm run docs`: writes docs/schemas/*.schema.json and the generated configuration tables of the
// READMEs from the zod schemas. `npm run docs -- --check` writes nothing and exits 1 listing what
// is stale (test/docs-fresh.test.ts runs the same check).
import { checkDocs, writeDocs } from './docs/generate';

const USAGE = 'usage: npm run docs [-- --check]';
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--check');
if (unknown.length > 0 || args.includes('--help')) {
  console.error(`${unknown.length > 0 ? `unknown argument ${unknown[0]}\n` : ''}${USAGE}`);
  process.exit(2);
}

if (args.includes('--check')) {
  const stale = await checkDocs();
  if (stale.length > 0) {
    console.error(`generated docs are stale (run npm run docs):\n  ${stale.join('\n  ')}`);
    process.exit(1);
  }
  console.log('generated docs are up to date');
} else {
  try {
    const written = await writeDocs();
    console.log(written.length > 0 ? `wrote\n  ${written.join('\n  ')}` : 'generated docs were already up to date');
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
