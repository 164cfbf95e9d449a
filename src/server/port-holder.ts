// Best-effort answer to "who is listening on this TCP port?", for the start-up error when the port
// is taken: the socket's inode from /proc/net/tcp{,6}, then the process holding a descriptor to it.
// Linux only; returns undefined whenever anything is unreadable (other users' processes, no /proc).
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface PortHolder {
  pid: number;
  command: string;
}

const LISTEN = '0A';

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const localPort = parseInt(cols[1].split(':')[1] ?? '', 16);
      if (localPort === port && cols[3] === LISTEN && cols[9] !== '0') inodes.add(cols[9]);
    }
  }
  return inodes;
}

export function findPortHolder(port: number): PortHolder | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  const targets = new Set([...inodes].map((i) => `socket:[${i}]`));
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!targets.has(link)) continue;
      return { pid: Number(pid), command: commandOf(pid) };
    }
  }
  return undefined;
}

/** The holder's command line, shortened (comm alone is often just "node" or a thread's name). */
function commandOf(pid: string): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const text = argv.slice(0, 3).join(' ');
    if (text) return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    // the process may have just exited
  }
  return '?';
}
