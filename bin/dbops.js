#!/usr/bin/env node
import module from 'node:module';

// Node >= 22.1 can keep compiled code on disk between runs (faster start-up); Node 20 has no
// such API and simply runs without it.
module.enableCompileCache?.();

const { main } = await import('../dist/src/cli/main.js');
process.exitCode = await main(process.argv);
