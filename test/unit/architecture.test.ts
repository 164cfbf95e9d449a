// Keeps the architecture rules of docs/DESIGN.md checkable: imports run one way
// (protocol ← domain/harness ← adapters ← server/cli), the core never imports a vendor SDK,
// Fastify or a database driver, and only entry points read process.env.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const sources = files(ROOT).map((path) => ({
  path: relative(ROOT, path),
  text: readFileSync(path, 'utf8'),
}));

function importsOf(src: { path: string; text: string }): string[] {
  const specs = [...src.text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  return specs.map((s) => (s.startsWith('.') ? relative(ROOT, resolve(dirname(join(ROOT, src.path)), s)) : s));
}

const layer = (p: string) => p.split('/')[0];

// What each layer may import from inside src/.
const ALLOWED: Record<string, string[]> = {
  protocol: ['protocol'],
  ports: ['ports', 'protocol'],
  domain: ['domain', 'protocol', 'ports'],
  harness: ['harness', 'domain', 'protocol', 'ports'],
  tools: ['tools', 'harness', 'domain', 'protocol', 'ports'],
  adapters: ['adapters', 'harness', 'domain', 'protocol', 'ports', 'tools'],
  server: ['server', 'adapters', 'harness', 'domain', 'protocol', 'ports', 'tools'],
  worker: ['worker', 'adapters', 'harness', 'domain', 'protocol', 'ports', 'tools'],
  cli: ['cli', 'server', 'worker', 'adapters', 'harness', 'domain', 'protocol', 'ports', 'tools'],
};

const VENDOR = [/^fastify/, /^@anthropic-ai\//, /^openai$/, /^yaml$/, /^node:sqlite$/, /^pg$/, /^pino/, /^@modelcontextprotocol\//];
const CORE = new Set(['protocol', 'ports', 'domain', 'harness', 'tools']);

describe('architecture', () => {
  it('has source files to check', () => {
    expect(sources.length).toBeGreaterThan(10);
  });

  it('imports run one way between layers', () => {
    const violations: string[] = [];
    for (const src of sources) {
      const from = layer(src.path);
      for (const spec of importsOf(src)) {
        if (spec.startsWith('node:') || !spec.includes('/') && !spec.startsWith('.') && !sources.some((s) => layer(s.path) === layer(spec))) continue;
        const to = layer(spec);
        if (!(to in ALLOWED)) continue;
        if (!ALLOWED[from]?.includes(to)) violations.push(`${src.path} imports ${spec}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps vendor SDKs, Fastify, loggers and database drivers out of the core', () => {
    const violations = sources
      .filter((s) => CORE.has(layer(s.path)))
      .flatMap((s) => importsOf(s).filter((spec) => VENDOR.some((re) => re.test(spec))).map((spec) => `${s.path} imports ${spec}`))
      // The harness logs through pino's Logger *type* only (erased at runtime).
      .filter((v) => !/harness\/harness\.ts imports pino$/.test(v));
    expect(violations).toEqual([]);
  });

  it('reads process.env only in entry points', () => {
    const code = (t: string) => t.split('\n').filter((l) => !/^\s*(\/\/|\*)/.test(l)).join('\n');
    // The CLI's client commands are entry points too (flags over HANGAR_URL / HANGAR_API_KEY over the config file).
    const entry = (p: string) => /(^|\/)main\.ts$/.test(p) || p.startsWith('cli/commands/');
    const offenders = sources.filter((s) => /process\.env/.test(code(s.text)) && !entry(s.path)).map((s) => s.path);
    expect(offenders).toEqual([]);
  });
});
