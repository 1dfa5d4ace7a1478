// A node:test reporter that ends the run with every skipped test and suite, each with its file,
// its enclosing suites and why it was skipped. The built-in summary counts skipped tests only (a
// skipped suite's tests are never run, so never counted); this names them all. Used next to the
// spec reporter by `npm test` and `npm run test:unit` (package.json).
import { relative } from 'node:path';

export default async function* skipSummary(source) {
  /** per file, the names of the tests and suites open at each nesting level */
  const open = new Map();
  const skipped = [];
  for await (const event of source) {
    const { data } = event;
    if (event.type === 'test:start') {
      const names = open.get(data.file) ?? [];
      names.length = data.nesting;
      names.push(data.name);
      open.set(data.file, names);
    } else if ((event.type === 'test:pass' || event.type === 'test:fail') && data.skip !== undefined && data.skip !== false) {
      const parents = (open.get(data.file) ?? []).slice(0, data.nesting);
      skipped.push({
        kind: data.details?.type === 'suite' ? 'suite' : 'test',
        where: [data.file ? relative(process.cwd(), data.file) : '', ...parents, data.name].filter(Boolean).join(' › '),
        why: typeof data.skip === 'string' && data.skip !== '' ? data.skip : 'no reason given',
      });
    }
  }
  if (skipped.length === 0) return;
  const suites = skipped.filter((s) => s.kind === 'suite').length;
  yield `\nskipped ${skipped.length}: ${suites} suite${suites === 1 ? '' : 's'} (none of their tests ran) and ${skipped.length - suites} test${skipped.length - suites === 1 ? '' : 's'}\n`;
  for (const s of skipped) yield `  ${s.kind.padEnd(5)} ${s.where}: ${s.why}\n`;
}
