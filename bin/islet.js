#!/usr/bin/env node
// The `islet` command. A plain-JS shim: it checks Node, then runs the TypeScript CLI through
// Node's type stripping. `islet dev` runs isolates in this process, and isolated-vm needs
// --no-node-snapshot, so that command is re-spawned with the flag.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`islet needs Node.js 24 or newer (this is ${process.version})\n`);
  process.exit(2);
}

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const needsRuntime = process.argv[2] === 'dev';

if (needsRuntime && !process.execArgv.includes('--no-node-snapshot')) {
  const child = spawn(process.execPath, ['--no-node-snapshot', ...process.execArgv, main, ...process.argv.slice(2)], { stdio: 'inherit' });
  // The child gets Ctrl-C from the terminal itself; forward signals sent to this process only.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGTERM" ? 143 : 130)));
} else {
  const { cliMain } = await import(main);
  await cliMain();
}
