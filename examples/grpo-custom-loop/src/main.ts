import { runCustomLoop } from './custom-loop';

// `npm start -w @flex/example-grpo-custom-loop`: the loop pushes the square's colour towards red.
const history = await runCustomLoop({ steps: 60 });
for (const h of history.filter((_, i) => i % 10 === 0 || i === history.length - 1)) {
  console.log(`step ${String(h.step).padStart(3)}  colour (${h.mean.map((v) => v.toFixed(2)).join(', ')})  loss ${h.loss.toFixed(3)}  clipped ${h.clipFraction.toFixed(2)}  judge calls ${h.judgeCalls}`);
}
