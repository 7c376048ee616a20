#!/usr/bin/env node
// `npm start`: the main job. Runs `flex pipeline` on the embedded world with the default preset, once the
// CLI exists; until then it says plainly what is available.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'packages', 'cli', 'src', 'bin.ts');
if (existsSync(cli)) {
  // Runs from source (the private @flex/source export condition), so a fresh clone needs no build first.
  const args = ['--conditions=@flex/source', '--import', 'tsx', cli, 'pipeline', '--preset', 'default', '--out', 'runs/default', ...process.argv.slice(2)];
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  process.exit(result.status ?? 1);
}
console.log(`Flex: the main job (\`flex pipeline\`) is not built yet.
Available now:
  npm test            run every test
  npm run build       build every package
  npm run typecheck   typecheck every package
Packages: ${['criteria', 'synth', 'model', 'sft', 'dpo', 'grpo', 'eval', 'cli'].filter((p) => existsSync(join(root, 'packages', p, 'package.json'))).map((p) => '@flex/' + p).join(', ')}`);
