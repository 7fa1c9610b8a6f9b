import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { AdminClient } from '@switchyard/client';
import { encodeRaw, hashToken, KeyLayout, type Datatype, type TypedArray } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { inferenceService } from '@switchyard/core/grpc';
import { silentLogger } from '@switchyard/core/logging';
import { ControlPlane } from '@switchyard/control-plane';
import { PredictionNode } from '@switchyard/prediction-node';
import { makeTempDir, removeDir, startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';

/** One token per role; the console signs people in with these. */
export const TOKENS = { admin: 'sy_console-test-admin', deployer: 'sy_console-test-deployer', viewer: 'sy_console-test-viewer' } as const;

const TOKENS_JSON = JSON.stringify({
  tokens: [
    { name: 'ada', role: 'admin', sha256: hashToken(TOKENS.admin) },
    { name: 'dan', role: 'deployer', sha256: hashToken(TOKENS.deployer) },
    { name: 'vera', role: 'viewer', sha256: hashToken(TOKENS.viewer) },
  ],
});

/** Where the browser tests leave their screenshots: packages/e2e/dist/test-output/screenshots. */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));

/** One inference input, raw. */
export interface Input {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TypedArray;
}

/**
 * A real cluster for the console: an etcd child process, a control plane with
 * tokens on and its console on a free loopback port, and prediction nodes
 * with their metrics endpoints (the console's live rates come from there).
 */
export class ConsoleCluster {
  readonly nodes: PredictionNode[] = [];
  readonly #clients: ReturnType<typeof createEtcdClient>[] = [];
  readonly #inference: grpc.Client[] = [];
  readonly #extraControlPlanes: ControlPlane[] = [];

  private constructor(
    readonly etcd: EtcdProcess,
    readonly controlPlane: ControlPlane,
    readonly admin: AdminClient,
    readonly dir: string,
    readonly keys: KeyLayout,
  ) {}

  static async start(options: { nodes?: number } = {}): Promise<ConsoleCluster> {
    const etcd = await startEtcd();
    const dir = await makeTempDir('switchyard-console-');
    const keys = new KeyLayout('/console-test/');
    const client = createEtcdClient({ endpoints: etcd.endpoint });
    const controlPlane = await ControlPlane.create({
      etcd: client,
      keys,
      dataDir: join(dir, 'control-plane'),
      logger: silentLogger(),
      auth: { tokensJson: TOKENS_JSON },
      consoleListen: '127.0.0.1:0',
      rolloutTickMs: 100,
      // The retirement page's dry run must show what a sweep would do, so none runs by itself.
      retirement: { sweeperEnabled: false },
    });
    const admin = AdminClient.connect(controlPlane.address, { token: TOKENS.admin, source: 'the console test' });
    const cluster = new ConsoleCluster(etcd, controlPlane, admin, dir, keys);
    cluster.#clients.push(client);
    const Inference = inferenceService();
    for (let i = 1; i <= (options.nodes ?? 2); i++) {
      const nodeEtcd = createEtcdClient({ endpoints: etcd.endpoint });
      cluster.#clients.push(nodeEtcd);
      const node = await PredictionNode.create({
        etcd: nodeEtcd,
        keys,
        id: `node-${i}`,
        dataDir: join(dir, `node-${i}`),
        metricsListen: '127.0.0.1:0',
        logger: silentLogger(),
        leaseTtlSeconds: 5,
        statsIntervalMs: 100,
        drainGraceMs: 0,
        controlPlaneToken: TOKENS.viewer,
      });
      cluster.nodes.push(node);
      cluster.#inference.push(new Inference(node.address, grpc.credentials.createInsecure()));
    }
    return cluster;
  }

  /** Another control plane on the same etcd and keys, with its own console; stopped with the cluster. */
  async addControlPlane(id: string): Promise<ControlPlane> {
    const client = createEtcdClient({ endpoints: this.etcd.endpoint });
    this.#clients.push(client);
    const controlPlane = await ControlPlane.create({
      etcd: client,
      keys: this.keys,
      id,
      dataDir: join(this.dir, id),
      logger: silentLogger(),
      auth: { tokensJson: TOKENS_JSON },
      consoleListen: '127.0.0.1:0',
      retirement: { sweeperEnabled: false },
    });
    this.#extraControlPlanes.push(controlPlane);
    return controlPlane;
  }

  /** The console's URL, e.g. http://127.0.0.1:41234/. */
  get url(): string {
    return this.controlPlane.consoleUrl!;
  }

  /** Uploads and creates a version; returns its name. */
  async createVersion(model: string, bytes: Uint8Array, options: { expiresAfterSeconds?: number } = {}): Promise<string> {
    const { sha256 } = await this.admin.uploadBytes(bytes, { filename: 'model.onnx' });
    const expiry = options.expiresAfterSeconds !== undefined ? { expires_after_seconds: options.expiresAfterSeconds } : {};
    return (await this.admin.createVersion({ model, artifact_sha256: sha256, ...expiry })).version;
  }

  /** Creates a version, routes all traffic to it and waits until every node reports it READY. */
  async deploy(model: string, bytes: Uint8Array): Promise<string> {
    const version = await this.createVersion(model, bytes);
    await this.admin.setRoute({ model, splits: [{ version, weight: 10_000 }] });
    await waitFor(
      async () => {
        const status = await this.admin.call('GetModelStatus', { model });
        const nodes = (status as { nodes: { versions: { version: string; state: string }[] }[] }).nodes;
        return nodes.length === this.nodes.length && nodes.every((n) => n.versions.some((v) => v.version === version && v.state === 'READY'));
      },
      { timeoutMs: 20_000, message: `${model}:${version} READY on every node` },
    );
    return version;
  }

  /** One ModelInfer on node `index` (round robin by the caller); rejects on a failed request. */
  infer(index: number, model: string, inputs: Input[]): Promise<unknown> {
    const client = this.#inference[index % this.#inference.length]!;
    const request = {
      model_name: model,
      model_version: '',
      inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape })),
      raw_input_contents: inputs.map((i) => encodeRaw(i.data)),
    };
    return new Promise((resolve, reject) => {
      (client as unknown as Record<string, Function>).ModelInfer!.call(client, request, { deadline: Date.now() + 10_000 }, (err: Error | null, res: unknown) =>
        err ? reject(err) : resolve(res),
      );
    });
  }

  /**
   * Sends requests to every node, a few in flight, until stopped; failed
   * requests are counted, not thrown (a bad version is meant to fail some).
   */
  load(model: string, inputsFor: (i: number) => Input[]): { stop: () => Promise<{ ok: number; failed: number }> } {
    let running = true;
    let ok = 0;
    let failed = 0;
    let i = 0;
    const worker = async (): Promise<void> => {
      while (running) {
        const n = i++;
        try {
          await this.infer(n, model, inputsFor(n));
          ok++;
        } catch {
          failed++;
        }
        // A short pause keeps the machine responsive for the browser.
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const workers = Array.from({ length: 4 }, () => worker());
    return {
      stop: async () => {
        running = false;
        await Promise.all(workers);
        return { ok, failed };
      },
    };
  }

  async stop(): Promise<void> {
    for (const c of this.#inference) c.close();
    await Promise.allSettled(this.nodes.map((n) => n.stop(1000)));
    this.admin.close();
    await Promise.allSettled(this.#extraControlPlanes.map((cp) => cp.stop()));
    await this.controlPlane.stop().catch(() => undefined);
    for (const c of this.#clients) c.close();
    await this.etcd.destroy();
    await removeDir(this.dir);
  }
}

/** Debian's chromium, as scripts/setup installs it; CHROMIUM_PATH overrides. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

/**
 * Headless Chromium with every request the page makes checked: anything not
 * addressed to the loopback range is recorded and aborted.
 */
export class ConsoleBrowser {
  /** URLs the page tried to reach beyond loopback (should stay empty). */
  readonly offLoopback: string[] = [];
  /** Errors thrown by the page's scripts. */
  readonly pageErrors: string[] = [];

  private constructor(readonly browser: Browser) {}

  static async launch(): Promise<ConsoleBrowser> {
    const browser = await chromium.launch({
      executablePath: chromiumPath(),
      // Root in a container needs --no-sandbox; the rest keeps Chromium from calling home.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    return new ConsoleBrowser(browser);
  }

  /** A fresh browser session (its own cookies) with a page of the given size. */
  async page(viewport = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await this.browser.newContext({ viewport });
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const loopback = /^127\./.test(host) || host === 'localhost' || host === '::1';
      if (loopback || url.protocol === 'data:') await route.continue();
      else {
        this.offLoopback.push(url.href);
        await route.abort();
      }
    });
    const page = await context.newPage();
    page.on('pageerror', (err) => this.pageErrors.push(err.message));
    return { context, page };
  }

  async screenshot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  }

  close(): Promise<void> {
    return this.browser.close();
  }
}

/** Signs in on the console's sign-in form. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.locator('#token').fill(token);
  await page.locator('#token').press('Enter');
}
