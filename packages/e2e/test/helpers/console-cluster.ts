import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { AdminClient } from '@switchyard/client';
import { hashToken, type Datatype, type KeyLayout, type TypedArray } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { ControlPlane } from '@switchyard/control-plane';
import type { PredictionNode } from '@switchyard/prediction-node';
import type { EtcdProcess } from '@switchyard/testkit';
import { TestCluster } from '../../src/test-cluster.js';

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
 * A real cluster for the console: the test cluster with tokens on, the
 * control plane's console on a free loopback port, and prediction nodes with
 * their metrics endpoints (the console's live rates come from there).
 */
export class ConsoleCluster {
  readonly #clients: ReturnType<typeof createEtcdClient>[] = [];
  readonly #extraControlPlanes: ControlPlane[] = [];

  private constructor(readonly base: TestCluster) {}

  static async start(options: { nodes?: number } = {}): Promise<ConsoleCluster> {
    const base = await TestCluster.start({
      nodes: options.nodes ?? 2,
      prefix: '/console-test/',
      controlPlaneOptions: {
        auth: { tokensJson: TOKENS_JSON },
        consoleListen: '127.0.0.1:0',
        rolloutTickMs: 100,
        // The retirement page's dry run must show what a sweep would do, so none runs by itself.
        retirement: { sweeperEnabled: false },
      },
      adminAccess: { token: TOKENS.admin },
      nodeOptions: { metricsListen: '127.0.0.1:0', statsIntervalMs: 100, controlPlaneToken: TOKENS.viewer },
    });
    return new ConsoleCluster(base);
  }

  get etcd(): EtcdProcess {
    return this.base.etcd;
  }

  get controlPlane(): ControlPlane {
    return this.base.controlPlane;
  }

  get admin(): AdminClient {
    return this.base.admin;
  }

  get keys(): KeyLayout {
    return this.base.keys;
  }

  get dir(): string {
    return this.base.dir;
  }

  get nodes(): PredictionNode[] {
    return this.base.nodes;
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

  /** Creates a version, routes all traffic to it and waits until every node serves it READY. */
  deploy(model: string, bytes: Uint8Array): Promise<string> {
    return this.base.deploy(model, bytes);
  }

  /** One ModelInfer on node `index` (round robin by the caller); rejects on a failed request. */
  infer(index: number, model: string, inputs: Input[]): Promise<unknown> {
    return this.base.infer(index % this.nodes.length, model, inputs);
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
    await Promise.allSettled(this.#extraControlPlanes.map((cp) => cp.stop()));
    for (const c of this.#clients) c.close();
    await this.base.stop();
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
