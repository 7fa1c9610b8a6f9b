/**
 * A load generator run as a child process (never in the process under test,
 * so the server's event loop measures only the server).
 *
 * It speaks gRPC directly over node:http2 with pre-framed request bytes and
 * keeps responses as raw bytes. A @grpc/grpc-js client spent ≈ 430–550 µs
 * of CPU per unary call here (its per-call machinery: interceptors, retry
 * and deadline bookkeeping, async-context binding) against ≈ 130–240 µs for
 * the server, so on two cores it, not the server, set the pace; this client
 * costs ≈ 130 µs. Every response's grpc-status is checked.
 *
 * Protocol over the IPC channel: parent sends `config`; child connects and
 * answers `ready`; then each `go` runs one segment (warm-up + measured
 * window) on the same connection and is answered by `result`; `stop` (or
 * the parent going away) ends the process. Every loop ends at its deadline;
 * every call has one.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import type { CallResult, CallSpec, ChildMessage, GoMessage, LoadClientConfig, ParentMessage } from './load-protocol.js';

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** A gRPC message on the wire: 1 byte "not compressed", 4 bytes big-endian length, the bytes. */
function frame(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.byteLength);
  out.writeUInt32BE(message.byteLength, 1);
  message.copy(out, 5);
  return out;
}

/** What a segment needs of a caller, whichever protocol it speaks. */
interface AnyCaller {
  result: CallResult;
  readonly spec: CallSpec;
  call(measureFrom: number, measureTo: number): Promise<void>;
}

/**
 * One REST call kind: POST over HTTP/1.1 with keep-alive, one connection per
 * loop (the agent's sockets), as an HTTP client library would.
 */
class HttpCaller implements AnyCaller {
  result: CallResult = Caller.empty();
  private readonly body: Buffer;
  private readonly options: http.RequestOptions;

  constructor(target: string, agent: http.Agent, readonly spec: CallSpec, private readonly deadlineMs: number) {
    this.body = Buffer.from(spec.requestBase64, 'base64');
    const [host, port] = target.split(':');
    this.options = { host, port: Number(port), path: spec.path, method: 'POST', agent, headers: { ...spec.http!.headers, 'content-length': String(this.body.byteLength) } };
  }

  call(measureFrom: number, measureTo: number): Promise<void> {
    const started = performance.now();
    return new Promise((resolve) => {
      let done = false;
      const finish = (error: string | undefined, body?: Buffer): void => {
        if (done) return;
        done = true;
        const ended = performance.now();
        if (error) {
          this.result.errors++;
          this.result.firstError ??= error;
        } else {
          this.result.total++;
          if (started >= measureFrom) this.result.latenciesMs.push(Math.round((ended - started) * 1000) / 1000);
          if (ended >= measureFrom && ended <= measureTo) this.result.completed++;
          if (this.result.sampleResponseBase64 === undefined && body) this.result.sampleResponseBase64 = body.toString('base64');
        }
        resolve();
      };
      const req = http.request(this.options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? finish(undefined, Buffer.concat(chunks)) : finish(`HTTP ${res.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`)));
        res.on('error', (err) => finish(err.message));
      });
      req.on('error', (err) => finish(err.message));
      req.setTimeout(this.deadlineMs + 1000, () => {
        finish(`no answer within ${this.deadlineMs + 1000} ms`);
        req.destroy();
      });
      req.end(this.body);
    });
  }
}

class Caller implements AnyCaller {
  result: CallResult = Caller.empty();
  private readonly body: Buffer;
  private readonly headers: http2.OutgoingHttpHeaders;

  constructor(
    private readonly session: http2.ClientHttp2Session,
    readonly spec: CallSpec,
    private readonly deadlineMs: number,
  ) {
    this.body = frame(Buffer.from(spec.requestBase64, 'base64'));
    this.headers = {
      ':method': 'POST',
      ':path': spec.path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': `${deadlineMs}m`,
    };
  }

  static empty(): CallResult {
    return { completed: 0, total: 0, errors: 0, latenciesMs: [] };
  }

  /** One call; recorded when it started at/after `measureFrom` (latency) and ended by `measureTo` (throughput). */
  call(measureFrom: number, measureTo: number): Promise<void> {
    const started = performance.now();
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message: string | undefined;
      let done = false;
      const finish = (error?: string): void => {
        if (done) return;
        done = true;
        const ended = performance.now();
        const failure = error ?? (status === '0' ? undefined : `grpc-status ${status ?? 'missing'} ${message ?? ''}`.trim());
        if (failure) {
          this.result.errors++;
          this.result.firstError ??= failure;
        } else {
          this.result.total++;
          if (started >= measureFrom) this.result.latenciesMs.push(Math.round((ended - started) * 1000) / 1000);
          if (ended >= measureFrom && ended <= measureTo) this.result.completed++;
          if (this.result.sampleResponseBase64 === undefined && chunks.length > 0) {
            const body = Buffer.concat(chunks);
            this.result.sampleResponseBase64 = body.subarray(5, 5 + body.readUInt32BE(1)).toString('base64');
          }
        }
        resolve();
      };
      const stream = this.session.request(this.headers);
      // Trailers-only responses (errors) carry grpc-status in the headers.
      stream.on('response', (h) => {
        if (h['grpc-status'] !== undefined) {
          status = String(h['grpc-status']);
          message = h['grpc-message'] === undefined ? undefined : String(h['grpc-message']);
        }
      });
      stream.on('trailers', (h) => {
        status = String(h['grpc-status']);
        message = h['grpc-message'] === undefined ? undefined : String(h['grpc-message']);
      });
      // Only the first answer's bytes are kept (for the parent's check); the rest are read and dropped.
      if (this.result.sampleResponseBase64 === undefined) stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      else stream.resume();
      stream.on('end', () => finish());
      stream.on('close', () => finish(status === undefined ? `stream closed (rst code ${stream.rstCode})` : undefined));
      stream.on('error', (err: Error) => finish(err.message));
      // The server enforces grpc-timeout; this bounds the call even if the server hangs.
      stream.setTimeout(this.deadlineMs + 1000, () => {
        finish(`no answer within ${this.deadlineMs + 1000} ms`);
        stream.close(http2.constants.NGHTTP2_CANCEL);
      });
      stream.end(this.body);
    });
  }
}

async function connect(target: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`http://${target}`);
  session.on('error', () => undefined); // surfaced per stream
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`could not connect to ${target} within 10 s`)), 10_000);
    session.once('connect', () => (clearTimeout(timer), resolve()));
    session.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
  return session;
}

/** One segment: warm-up, then the measured window; every loop stops at the window's end. */
async function runSegment(config: LoadClientConfig, callers: AnyCaller[], go: GoMessage): Promise<void> {
  for (const c of callers) c.result = Caller.empty();
  const first = callers[0]!;
  const start = performance.now();
  const measureFrom = start + go.warmupMs;
  const measureTo = measureFrom + go.durationMs;
  const cpuAtStart = process.cpuUsage();
  gcPauses.sum = 0;
  gcPauses.max = 0;
  const loops: Promise<void>[] = [];
  if (config.mode === 'open-loop') {
    const chosen = go.labels === undefined ? callers : callers.filter((c) => go.labels!.includes(c.spec.label));
    if (chosen.length === 0) throw new Error(`no call labelled ${String(go.labels)}`);
    loops.push(openLoop(config, chosen, measureFrom, measureTo));
  } else if (config.mode === 'closed-loop') {
    for (let i = 0; i < config.concurrency; i++) {
      loops.push(
        (async () => {
          while (performance.now() < measureTo) await first.call(measureFrom, measureTo);
        })(),
      );
    }
  } else {
    // One loop per kind of probe, each pausing a jittered interval, so no
    // probe is always sent right after another one's answer (which would
    // time it just after the server's loop came free).
    for (const caller of callers) {
      loops.push(
        (async () => {
          await new Promise((r) => setTimeout(r, Math.random() * config.intervalMs));
          while (performance.now() < measureTo) {
            await caller.call(measureFrom, measureTo);
            await new Promise((r) => setTimeout(r, config.intervalMs * (0.5 + Math.random())));
          }
        })(),
      );
    }
  }
  await Promise.all(loops);
  const cpu = process.cpuUsage(cpuAtStart);
  const end = performance.now();
  const calls: Record<string, CallResult> = {};
  for (const c of callers) calls[c.spec.label] = c.result;
  await send({
    type: 'result',
    windowMs: Math.min(end, measureTo) - measureFrom,
    totalMs: end - start,
    cpuMs: (cpu.user + cpu.system) / 1000,
    gcMs: gcPauses.sum,
    gcMaxMs: gcPauses.max,
    calls,
  });
}

/**
 * Poisson arrivals at `ratePerSecond`, each sent when due whatever is still
 * outstanding, so a slow answer cannot hold back the offered rate (a closed
 * loop would slow down with the server and hide its queueing). Timers fire
 * at ≈ 1 ms granularity; arrivals due by then go out together, and each
 * call's latency is timed from when it was actually sent.
 */
async function openLoop(config: LoadClientConfig, callers: AnyCaller[], measureFrom: number, measureTo: number): Promise<void> {
  const rate = config.ratePerSecond ?? 0;
  if (!(rate > 0)) throw new Error(`open-loop needs ratePerSecond > 0, got ${rate}`);
  const meanGapMs = 1000 / rate;
  const gap = (): number => -Math.log(1 - Math.random()) * meanGapMs;
  const inFlight = new Set<Promise<void>>();
  let next = performance.now() + gap();
  let turn = 0;
  while (next < measureTo) {
    const now = performance.now();
    while (next <= now && next < measureTo) {
      const caller = callers[turn++ % callers.length]!;
      const measured = next >= measureFrom;
      if (inFlight.size >= config.concurrency) {
        if (measured) caller.result.skipped = (caller.result.skipped ?? 0) + 1;
      } else {
        if (measured) caller.result.started = (caller.result.started ?? 0) + 1;
        const call = caller.call(measureFrom, measureTo);
        inFlight.add(call);
        void call.then(() => inFlight.delete(call));
      }
      next += gap();
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(next, measureTo) - performance.now() - 0.5)));
  }
  await Promise.all(inFlight);
}

const gcPauses = { sum: 0, max: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcPauses.sum += entry.duration;
    gcPauses.max = Math.max(gcPauses.max, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

let session: http2.ClientHttp2Session | undefined;
let state: { config: LoadClientConfig; callers: AnyCaller[] } | undefined;
let busy: Promise<void> = Promise.resolve();

function fail(err: Error): void {
  void send({ type: 'error', message: err.message }).then(() => process.exit(1));
}

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'config':
      if (session || state) return;
      if (message.calls.length > 0 && message.calls.every((c) => c.http)) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: message.concurrency });
        state = { config: message, callers: message.calls.map((spec) => new HttpCaller(message.target, agent, spec, message.deadlineMs)) };
        busy = send({ type: 'ready' });
        return;
      }
      busy = connect(message.target)
        .then(async (s) => {
          session = s;
          if (message.calls.length === 0) throw new Error('no calls configured');
          state = { config: message, callers: message.calls.map((spec) => new Caller(s, spec, message.deadlineMs)) };
          await send({ type: 'ready' });
        })
        .catch(fail);
      return;
    case 'go':
      busy = busy
        .then(() => {
          if (!state) throw new Error('go before config');
          return runSegment(state.config, state.callers, message);
        })
        .catch(fail);
      return;
    case 'stop':
      void busy.finally(() => {
        session?.destroy();
        process.exit(0);
      });
      return;
  }
});
// The parent going away ends this process too (no orphaned load).
process.on('disconnect', () => process.exit(0));
