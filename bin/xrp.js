#!/usr/bin/env node
// Entry point of the `xrp` binary: the compiled CLI in dist/ (built by `npm run build`,
// which `npm ci`, `npm pack` and `npm start` run). From the TypeScript sources, without
// a build: `npm run xrp -- ...`. A plain `xrp verify FILE.o [options]` goes the lean way
// (dist/cli/verify-fast.js: the verifier without commander and the rest of the CLI);
// every other command line, and any verify command line it does not take, goes to the
// full CLI.
const args = process.argv.slice(2);
try {
  if (args[0] !== 'verify' || !(await (await import('../dist/cli/verify-fast.js')).verifyFast(args.slice(1)))) {
    await import('../dist/cli/main.js');
  }
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && /dist\/cli\/(main|verify-fast)\.js/.test(String(error.message))) {
    console.error('xrp: the compiled CLI is missing (dist/); run `npm run build` first, or `npm run xrp -- ...` to run the sources');
    process.exit(1);
  }
  throw error;
}
