// Marks the compiled entry points executable so `npx simplebb-*` and the git hook can run them directly.
import { chmodSync, existsSync } from 'node:fs';
for (const f of ['dist/masterd.js', 'dist/clientd.js', 'dist/suggest.js', 'dist/simplebb.js']) {
  if (existsSync(f)) chmodSync(f, 0o755);
}
