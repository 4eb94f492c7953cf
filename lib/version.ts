import fs from 'node:fs';
import { packageRoot } from './package-root.js';

function readVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(`${packageRoot()}/package.json`, 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The package version, read once from package.json. */
export const VERSION: string = readVersion();
