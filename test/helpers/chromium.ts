import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Headless Chromium (Debian's `chromium` package) for tests that render HTML. When it is missing
 * and we are root, installs it once with apt-get; returns the binary, or why it is not available
 * (the caller skips with that notice).
 */
export function findChromium(): { bin: string } | { missing: string } {
  const which = () => spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser']);
  let found = which();
  if (found.status !== 0 && process.getuid?.() === 0) {
    const apt = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
      encoding: 'utf8',
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (apt.status !== 0) {
      const why = (apt.stderr || apt.error?.message || 'apt-get failed').trim().split('\n').at(-1);
      return { missing: `chromium is not installed and apt-get install chromium failed: ${why}` };
    }
    found = which();
  }
  if (found.status !== 0)
    return {
      missing:
        'chromium is not installed (apt-get install chromium; root is needed to install it here)',
    };
  return { bin: found.stdout.toString().trim() };
}

/** Flags for a sandbox-less, network-less headless run (root in a container has no sandbox). */
function flags(): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--no-first-run',
    '--hide-scrollbars',
    // Anything the page tried to fetch would fail: the report must be self-contained.
    '--proxy-server=127.0.0.1:9',
    '--proxy-bypass-list=<-loopback>',
  ];
}

/** The DOM after Chromium loaded and rendered the file. */
export async function dumpDom(bin: string, file: string): Promise<string> {
  const { stdout } = await run(bin, [...flags(), '--dump-dom', `file://${file}`], {
    maxBuffer: 64 << 20,
    timeout: 60_000,
  });
  return stdout;
}

/** A PNG screenshot of the page at `width` x `height`. */
export async function screenshot(
  bin: string,
  file: string,
  png: string,
  width = 1200,
  height = 1400,
): Promise<void> {
  await run(
    bin,
    [...flags(), `--screenshot=${png}`, `--window-size=${width},${height}`, `file://${file}`],
    { timeout: 60_000 },
  );
}
