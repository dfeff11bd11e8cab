// A bench worker thread: runs the points the main thread sends, one at a time,
// and replies with their rows (or the error, as text).

import { parentPort } from 'node:worker_threads';
import { findExperiment } from './registry.ts';
import { runPoint } from './runner.ts';
import type { Task } from './runner.ts';
import type { SuiteConfig } from './types.ts';

const port = parentPort;
if (port === null) throw new Error('src/bench/worker.ts must run in a worker thread');

port.on('message', async (message: { config: SuiteConfig; task: Task }) => {
  const { config, task } = message;
  try {
    const rows = await runPoint(findExperiment(task.experimentId), task.point, config, task.pointSeed);
    port.postMessage({ taskIndex: task.taskIndex, rows });
  } catch (error) {
    port.postMessage({ taskIndex: task.taskIndex, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
