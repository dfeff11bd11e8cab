// Entry of a bench worker thread. Workers do not inherit the tsx loader of the
// main thread, so register it here before loading the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
