/**
 * The baseline: a bare express 5 app with express.json() answering the same POST with a trivial
 * {result:{…}} JSON, in its own process. Plain JavaScript run by `node` itself (no TypeScript
 * loader) with NODE_ENV=production (bench/proc.ts starts it): the fastest plain express app.
 * Prints its URL once listening. argv[2]: port.
 */
import express from 'express';

const app = express();
app.use(express.json({ limit: '1mb' }));
app.post('/v1/tools/:tool', (req, res) => {
  const body = req.body;
  res.json({
    result: {
      run_id: body.run_id ?? null,
      totals: { input_tokens: 0, output_tokens: 0, total_tokens: 0, cost_usd: 0, llm_calls: 0 },
    },
  });
});
const port = Number(process.argv[2] ?? 0);
const server = app.listen(port, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${server.address().port}\n`);
});
