// `npm run prebuild`: prebuildify (--napi --strip) into prebuilds/<platform>-<arch>/.
//
// npm also runs a script named "prebuild" as the pre-hook of `npm run build` (which compiles the
// TypeScript, and runs on every `npm install` through `prepare`). That must not compile and bundle
// a prebuild, so this script looks at the npm command that started it and does nothing when that
// command was `build`. npm passes no variable that tells the two apart, hence the process tree.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function commandLine(pid) {
  try {
    if (fs.existsSync(`/proc/${pid}/cmdline`)) {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    }
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/);
  } catch {
    return null;
  }
}

function parentPid(pid) {
  try {
    if (fs.existsSync(`/proc/${pid}/stat`)) {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    }
    return Number(
      execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8' }).trim(),
    );
  } catch {
    return 0;
  }
}

/** The script name of the nearest `npm run <name>` above this process, or null. */
function npmRunTarget() {
  let pid = process.ppid;
  for (let depth = 0; depth < 6 && pid > 1; depth++) {
    // npm sets its process title to "npm run <name>", which replaces argv as one string.
    const args = commandLine(pid)?.join(' ').split(/\s+/) ?? null;
    if (args !== null && args.some((a) => /(^|[/\\])npm(-cli\.js)?$/.test(a))) {
      const i = args.findIndex(
        (a) => a === 'run' || a === 'run-script' || a === 'rum' || a === 'urn',
      );
      return i >= 0 && i + 1 < args.length ? args[i + 1] : null;
    }
    pid = parentPid(pid);
  }
  return null;
}

const target = npmRunTarget();
if (target !== null && target !== 'prebuild') {
  process.exit(0); // the pre-hook of `npm run ${target}`: nothing to do
}
const bin = path.join(path.dirname(require.resolve('prebuildify/package.json')), 'bin.js');
const r = spawnSync(process.execPath, [bin, '--napi', '--strip'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
