// Runs Stage-0 pretraining from the command line: node ../../scripts/run-ts.mjs scripts/pretrain.ts '<json options>'.
import { runMain } from '@flex/model';
import { pretrain } from '../src/index';

runMain(async () => {
  const options = JSON.parse(process.argv[3] ?? '{}');
  const started = Date.now();
  const result = await pretrain({
    ...options,
    callbacks: [
      {
        onLog: (entry) => console.log(JSON.stringify({ ...entry, minutes: Math.round((Date.now() - started) / 600) / 100 })),
        onEvaluate: (metrics) => console.log(JSON.stringify(metrics)),
      },
    ],
  });
  console.log(JSON.stringify(result));
});
