#!/usr/bin/env node
// Entry point of the `xrp` binary: the compiled CLI in dist/ (built by `npm run build`,
// which `npm ci`, `npm pack` and `npm start` run). From the TypeScript sources, without
// a build: `npm run xrp -- ...`.
try {
  await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    console.error('xrp: the compiled CLI is missing (dist/); run `npm run build` first, or `npm run xrp -- ...` to run the sources');
    process.exit(1);
  }
  throw error;
}
