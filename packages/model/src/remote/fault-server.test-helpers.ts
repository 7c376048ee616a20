import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * Test support (not part of the package API): an OpenAI-compatible loopback server that misbehaves on
 * purpose. It answers request k with `script[k]` (the last entry repeats), or with what a function of the
 * request body returns. It only listens on 127.0.0.1, and `close()` destroys every open socket and timer.
 */

/** What the server does with one request. */
export type Behaviour =
  | { kind: 'ok'; text: string; finishReason?: string; delayMs?: number }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'slow'; ms: number }
  | { kind: 'malformed' }
  | { kind: 'not-json' }
  | { kind: 'reset' }
  | { kind: 'reset-mid-body' }
  | { kind: 'echo-auth'; status: number };

/** One request as the server saw it. */
export interface SeenRequest {
  readonly index: number;
  readonly at: number;
  readonly authorization: string | undefined;
  readonly body: any;
}

/** A running fault server. */
export interface FaultServer {
  /** Base URL including `/v1`. */
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Most requests the server was handling at the same moment (received, response not yet finished). */
  readonly peakConcurrent: number;
  close(): Promise<void>;
}

/** A chat completion body with one choice. */
export function completionBody(text: string, finishReason = 'stop'): string {
  return JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 0,
    model: 'judge',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finishReason }],
  });
}

/** Starts a fault server on 127.0.0.1 with an ephemeral port. */
export async function startFaultServer(script: Behaviour[] | ((body: any, index: number) => Behaviour)): Promise<FaultServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const requests: SeenRequest[] = [];
  let open = 0;
  let peak = 0;
  const server = http.createServer((req, res) => {
    open += 1;
    peak = Math.max(peak, open);
    res.on('close', () => (open -= 1));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = requests.length;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      requests.push({ index, at: performance.now(), authorization: req.headers.authorization, body });
      const behaviour = typeof script === 'function' ? script(body, index) : script[Math.min(index, script.length - 1)]!;
      switch (behaviour.kind) {
        case 'ok': {
          const send = () => res.writeHead(200, { 'content-type': 'application/json' }).end(completionBody(behaviour.text, behaviour.finishReason));
          if (behaviour.delayMs === undefined) send();
          else timers.add(setTimeout(send, behaviour.delayMs));
          return;
        }
        case 'status':
          res.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
          res.end(behaviour.body ?? JSON.stringify({ error: { message: `status ${behaviour.status} on purpose` } }));
          return;
        case 'slow': {
          const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(completionBody('late')), behaviour.ms);
          timers.add(timer);
          return;
        }
        case 'malformed':
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices": [{"message": {"content": "x"');
          return;
        case 'not-json':
          res.writeHead(200, { 'content-type': 'text/html' }).end('<html>gateway says hi</html>');
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case 'reset-mid-body': {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
          res.write('{"choices": [');
          const timer = setTimeout(() => req.socket.destroy(), 5);
          timers.add(timer);
          return;
        }
        case 'echo-auth':
          res.writeHead(behaviour.status, { 'content-type': 'application/json' });
          // Both the header and the bare token, so that redaction of the key itself (not only of "Bearer …") is tested.
          res.end(JSON.stringify({ error: { message: `bad auth header ${req.headers.authorization}; token=${(req.headers.authorization ?? '').replace(/^Bearer /, '')}` } }));
          return;
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    get peakConcurrent() {
      return peak;
    },
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      })),
  };
}
