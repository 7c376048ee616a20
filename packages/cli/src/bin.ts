import { runCli } from './index';


// Last line of defence: after the wasm module loads, an uncaught exception would print the whole minified
// module; print one line instead.
process.on('uncaughtException', (error) => {
  process.stderr.write(`flex: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`flex: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
