import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PYTHON_TYPES_PATH, renderPythonTypes } from '../scripts/generate-python-types.js';

describe('generated Python types', () => {
  it('the committed tool_types.py matches a fresh generation from the tool schemas', () => {
    const committed = readFileSync(PYTHON_TYPES_PATH, 'utf8');
    assert.equal(
      committed,
      renderPythonTypes(),
      'clients/python/src/oprelay_bridge/tool_types.py is stale: run npm run generate:python-types',
    );
  });

  it('names every tool argument with its required flag as the schemas do', () => {
    const text = renderPythonTypes();
    assert.match(text, /class _CoreStartRunArgsRequired\(TypedDict\):\n(?:.*\n)*? {4}project_key: str\n(?:.*\n)*? {4}agent_id: str\n/);
    assert.match(text, /class CoreEndRunArgs\(_CoreEndRunArgsRequired, total=False\):/);
    assert.match(text, /status: Literal\["completed", "failed", "interrupted"\]/);
    assert.match(text, /traces: Sequence\[TraceEntry \| Mapping\[str, object\]\]/);
    assert.match(text, /^SUMMARY_MAX_CHARS: Final = 2000$/m);
  });
});
