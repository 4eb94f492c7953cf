/**
 * The directory of the installed convnet package, found by walking up from this file to the
 * package.json whose name is "convnet". The same code then works from lib/ (tests, ts sources),
 * dist/cjs/ (the build) and node_modules/convnet/dist/cjs/ (an install), whatever their depth.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PACKAGE_NAME = 'convnet';

let cached: string | null = null;

function isConvnetPackageJson(file: string): boolean {
  try {
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown };
    return pkg.name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/** The package root: the directory holding convnet's package.json. */
export function packageRoot(): string {
  if (cached !== null) return cached;
  const start = __dirname;
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (isConvnetPackageJson(path.join(dir, 'package.json'))) {
      cached = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(
    `packageRoot: no package.json named "${PACKAGE_NAME}" in ${start} or any directory above it (was the package moved out of its folder?)`,
  );
}
