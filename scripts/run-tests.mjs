#!/usr/bin/env node
// Runs every package's compiled uvu test files, each in its own process (root
// and namespace tests must not share state), and ends with one line
// `N passed, N failed[, N skipped]`. Exit status 1 when anything failed.
//
// Usage: node scripts/run-tests.mjs [FILTER...]   (substring of the file path)
// Env:   TEST_TIMEOUT=seconds per file (default 600), TEST_VERBOSE=1
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);
const timeoutMs = Number(process.env.TEST_TIMEOUT ?? 600) * 1000;

function findTests(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (/\.(test|e2e)\.js$/.test(name)) out.push(path);
  }
  return out;
}

const files = [];
for (const pkg of readdirSync(join(root, 'packages')).sort()) {
  findTests(join(root, 'packages', pkg, 'dist', 'test'), files);
}
findTests(join(root, 'examples', 'test'), files);
const selected = files.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));

// uvu prints, per file: "Total: N", "Passed: N", "Skipped: N" (colours off).
function parseSummary(text) {
  const num = (label) => {
    const m = text.match(new RegExp(`${label}:\\s+(\\d+)`));
    return m ? Number(m[1]) : null;
  };
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped') ?? 0;
  if (total === null || passed === null) return null;
  return { total, passed, skipped };
}

function runFile(file) {
  return new Promise((resolvePromise) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file], {
      cwd: root,
      env: { ...process.env, NODE_DISABLE_COLORS: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout ends everything it started
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ file, code, signal, out, timedOut, ms: Date.now() - started });
    });
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of selected) {
  const r = await runFile(file);
  const name = relative(root, file);
  const s = parseSummary(r.out);
  let filePassed = 0;
  let fileFailed = 0;
  let fileSkipped = 0;
  if (s) {
    filePassed = s.passed;
    fileSkipped = s.skipped;
    fileFailed = s.total - s.passed; // uvu's Total leaves skipped tests out
  }
  // A crash, a timeout or a non-zero exit with no failure counted is one failure.
  if (!s || r.timedOut || (r.code !== 0 && fileFailed === 0)) fileFailed += 1;
  passed += filePassed;
  failed += fileFailed;
  skipped += fileSkipped;
  const status = fileFailed ? 'FAIL' : 'ok  ';
  const note = r.timedOut ? ` (timed out after ${timeoutMs / 1000}s)` : '';
  console.log(`${status} ${name}: ${filePassed} passed, ${fileFailed} failed, ${fileSkipped} skipped (${(r.ms / 1000).toFixed(1)}s)${note}`);
  if (fileFailed || process.env.TEST_VERBOSE) {
    console.log(r.out.replace(/^/gm, '    | ').trimEnd());
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || selected.length === 0 ? 1 : 0;
