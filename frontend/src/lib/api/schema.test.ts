import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The committed client types must be what `npm run gen:api` makes from openapi.json.
describe('generated API types', () => {
  it('schema.d.ts is up to date with openapi.json (run `npm run gen:api`)', () => {
    const root = resolve(__dirname, '../../..');
    const out = join(mkdtempSync(join(tmpdir(), 'filament-api-')), 'schema.d.ts');
    const cli = join(root, 'node_modules/openapi-typescript/bin/cli.js');
    execFileSync(process.execPath, [cli, join(root, 'openapi.json'), '-o', out], { cwd: root, stdio: 'pipe' });
    const committed = readFileSync(join(root, 'src/lib/api/schema.d.ts'), 'utf8');
    expect(readFileSync(out, 'utf8') === committed, 'src/lib/api/schema.d.ts is stale: run `npm run gen:api`').toBe(true);
  }, 30_000);
});
