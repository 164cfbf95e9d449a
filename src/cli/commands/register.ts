// Registers the client commands (`agents`, `envs`, `sessions`, `vaults`, `run`, `tail`, `login`,
// `config`) on the `hangar` program. Only commander is loaded here: each action imports its
// handler (and with it the SDK) when it runs, so `hangar serve` pays nothing for the client.
import { Command, InvalidArgumentError, Option } from 'commander';

type SetExit = (code: number) => void;
type Values = { url?: string; apiKey?: string; json?: boolean; [k: string]: unknown };
type Modules = {
  conn: typeof import('./connection.ts');
  io: typeof import('./io.ts');
  res: typeof import('./resources.ts');
};

const EXIT_CODES = `
Exit codes: 0 ok · 1 API or user error (one line on stderr) · 2 usage error · 3 the session needs
input but none can be given (--non-interactive, or stdin ended) · 130 interrupted (Ctrl-C).`;

const CONNECTION_HELP = `
Server and key: --url/--api-key, else HANGAR_URL/HANGAR_API_KEY, else the config file
($XDG_CONFIG_HOME/hangar/config.json, default ~/.config/hangar/config.json; hangar login writes it),
else http://127.0.0.1:8700.`;

const positiveInt = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return Number(v);
};

const collectValues = (v: string, prev: string[]) => [...prev, v];

function clientOptions(cmd: Command, json = true): Command {
  cmd.option('--url <url>', 'the Hangar server (default: see hangar config)').option('--api-key <key>', 'an API key (default: see hangar config)');
  if (json) cmd.option('--json', 'print JSON for scripts');
  return cmd;
}

async function load(): Promise<Modules> {
  const [conn, io, res] = await Promise.all([import('./connection.ts'), import('./io.ts'), import('./resources.ts')]);
  return { conn, io, res };
}

/**
 * Wraps an action: connects, runs it, and turns user-facing failures into `hangar: <one line>` and
 * an exit code (1, or 2 for usage). Anything else is a bug and reaches main's handler.
 */
function action(setExit: SetExit, run: (m: Modules, c: import('./connection.ts').Connection, o: import('./io.ts').Output, values: Values, args: string[]) => Promise<number | void>, needsClient = true) {
  return async (...raw: unknown[]) => {
    const cmd = raw.at(-1) as Command;
    const values = cmd.opts() as Values;
    const args = raw.slice(0, -2) as string[];
    const m = await load();
    let url: string | undefined;
    try {
      const c = needsClient ? m.conn.connect(values) : (undefined as never);
      url = c?.url ?? values.url;
      const code = await run(m, c, m.io.stdoutOutput(Boolean(values.json)), values, args);
      setExit(code ?? 0);
    } catch (err) {
      const e = m.conn.describeError(err, url);
      if (!e) throw err;
      process.stderr.write(`hangar: ${e.message}\n`);
      setExit(e.exitCode);
    }
  };
}

const listOptions = (cmd: Command) => cmd
  .addOption(new Option('--limit <n>', 'how many to show').default(50).argParser(positiveInt('--limit')))
  .option('--archived', 'include archived ones');

export function registerClientCommands(program: Command, setExit: SetExit): void {
  program.showHelpAfterError(true); // an unknown command prints the usage

  const act = (run: Parameters<typeof action>[1], needsClient = true) => action(setExit, run, needsClient);

  // ── agents ──
  const agents = program.command('agents').description('list, show, create, update, version and archive agents');
  listOptions(clientOptions(agents.command('list').description('list agents')))
    .action(act(({ res }, c, o, v) => res.agentsList(c.client, o, { limit: v.limit as number, archived: Boolean(v.archived) })));
  clientOptions(agents.command('get').argument('<agent_id>').description("show an agent's configuration (YAML; --json for JSON)"))
    .addOption(new Option('--version <n>', 'a past version').argParser(positiveInt('--version')))
    .action(act(({ res }, c, o, v, [id]) => res.agentsGet(c.client, o, id, v.version as number | undefined)));
  clientOptions(agents.command('create').description('create an agent from a YAML or JSON file'))
    .requiredOption('-f, --file <path>', 'the agent definition (YAML or JSON; - for stdin)')
    .addHelpText('after', '\nExample agent.yaml:\n  name: reviewer\n  model: claude-sonnet-4-6\n  system: You review pull requests.\n  tools:\n    - type: agent_toolset_20260401')
    .action(act(({ res }, c, o, v) => res.agentsCreate(c.client, o, v.file as string)));
  clientOptions(agents.command('update').argument('<agent_id>').description('update an agent from a file (a new version when something changed)'))
    .requiredOption('-f, --file <path>', 'fields to change (YAML or JSON; - for stdin); a `version` field guards against concurrent edits')
    .action(act(({ res }, c, o, v, [id]) => res.agentsUpdate(c.client, o, id, v.file as string)));
  listOptions(clientOptions(agents.command('versions').argument('<agent_id>').description("list an agent's versions")))
    .action(act(({ res }, c, o, v, [id]) => res.agentsVersions(c.client, o, id, v.limit as number)));
  clientOptions(agents.command('diff').argument('<agent_id>').argument('<v1>').argument('<v2>').description('unified diff between two versions (YAML)'))
    .option('--color', 'color the diff even when stdout is not a terminal')
    .action(act(({ res, conn }, c, o, v, [id, v1, v2]) => {
      const n = (s: string) => {
        if (!/^\d+$/.test(s) || Number(s) < 1) throw new conn.CliError(`version "${s}" must be a positive integer`, 2);
        return Number(s);
      };
      return res.agentsDiff(c.client, o, id, n(v1), n(v2), Boolean(v.color) || Boolean(process.stdout.isTTY));
    }));
  clientOptions(agents.command('archive').argument('<agent_id>').description('archive an agent (no new sessions; existing ones keep running)'))
    .action(act(({ res }, c, o, _v, [id]) => res.agentsArchive(c.client, o, id)));

  // ── environments ──
  const envs = program.command('envs').description('list, show, create, update, archive and delete environments');
  listOptions(clientOptions(envs.command('list').description('list environments')))
    .action(act(({ res }, c, o, v) => res.envsList(c.client, o, { limit: v.limit as number, archived: Boolean(v.archived) })));
  clientOptions(envs.command('get').argument('<environment_id>').description('show an environment'))
    .action(act(({ res }, c, o, _v, [id]) => res.envsGet(c.client, o, id)));
  clientOptions(envs.command('create').description('create an environment from a YAML or JSON file'))
    .requiredOption('-f, --file <path>', 'the environment (YAML or JSON; - for stdin)')
    .addHelpText('after', '\nExample env.yaml:\n  name: build\n  config:\n    type: cloud\n    networking:\n      type: limited\n      allowed_hosts: [registry.npmjs.org]')
    .action(act(({ res }, c, o, v) => res.envsCreate(c.client, o, v.file as string)));
  clientOptions(envs.command('update').argument('<environment_id>').description('update an environment from a file'))
    .requiredOption('-f, --file <path>', 'fields to change (YAML or JSON; - for stdin)')
    .action(act(({ res }, c, o, v, [id]) => res.envsUpdate(c.client, o, id, v.file as string)));
  clientOptions(envs.command('archive').argument('<environment_id>').description('archive an environment'))
    .action(act(({ res }, c, o, _v, [id]) => res.envsArchive(c.client, o, id)));
  clientOptions(envs.command('delete').argument('<environment_id>').description('delete an environment'))
    .action(act(({ res }, c, o, _v, [id]) => res.envsDelete(c.client, o, id)));

  // ── sessions ──
  const sessions = program.command('sessions').description('list, show, archive and delete sessions');
  listOptions(clientOptions(sessions.command('list').description('list sessions, newest first')))
    .option('--agent <agent_id>', "only this agent's sessions")
    .option('--status <status>', 'only sessions in this status (idle|running|rescheduling|terminated; repeatable)', collectValues, [])
    .action(act(({ res }, c, o, v) => res.sessionsList(c.client, o, { limit: v.limit as number, archived: Boolean(v.archived), agent: v.agent as string | undefined, status: v.status as string[] })));
  clientOptions(sessions.command('get').argument('<session_id>').description('show a session (status, agent, usage, cost)'))
    .action(act(({ res }, c, o, _v, [id]) => res.sessionsGet(c.client, o, id)));
  clientOptions(sessions.command('archive').argument('<session_id>').description('archive a session'))
    .action(act(({ res }, c, o, _v, [id]) => res.sessionsArchive(c.client, o, id)));
  clientOptions(sessions.command('delete').argument('<session_id>').description('delete a session and its events'))
    .action(act(({ res }, c, o, _v, [id]) => res.sessionsDelete(c.client, o, id)));

  // ── vaults and credentials ──
  const vaults = program.command('vaults').description('list, show, create and archive vaults; manage their credentials');
  listOptions(clientOptions(vaults.command('list').description('list vaults')))
    .action(act(({ res }, c, o, v) => res.vaultsList(c.client, o, { limit: v.limit as number, archived: Boolean(v.archived) })));
  clientOptions(vaults.command('get').argument('<vault_id>').description('show a vault and its credentials (secrets are never shown)'))
    .action(act(({ res }, c, o, _v, [id]) => res.vaultsGet(c.client, o, id)));
  clientOptions(vaults.command('create').description('create a vault'))
    .option('-f, --file <path>', 'the vault (YAML or JSON: display_name, metadata)')
    .option('--name <display_name>', 'the display name')
    .action(act(({ res }, c, o, v) => res.vaultsCreate(c.client, o, { file: v.file as string | undefined, name: v.name as string | undefined })));
  clientOptions(vaults.command('archive').argument('<vault_id>').description('archive a vault (its credentials stop working)'))
    .action(act(({ res }, c, o, _v, [id]) => res.vaultsArchive(c.client, o, id)));
  const creds = vaults.command('credentials').description("list, create, rotate and archive a vault's credentials");
  listOptions(clientOptions(creds.command('list').argument('<vault_id>').description('list credentials')))
    .action(act(({ res }, c, o, v, [vault]) => res.credentialsList(c.client, o, vault, { limit: v.limit as number, archived: Boolean(v.archived) })));
  clientOptions(creds.command('create').argument('<vault_id>').description('create a credential; its secret comes from --secret-file, never the command line'))
    .requiredOption('-f, --file <path>', 'the credential without its secret (YAML or JSON)')
    .option('--secret-file <path>', 'the secret (token, secret_value or access_token): a file, or - for stdin')
    .addHelpText('after', '\nExample cred.yaml:\n  display_name: github\n  auth:\n    type: static_bearer\n    mcp_server_url: https://api.githubcopilot.com/mcp/\n\n  hangar vaults credentials create vlt_… -f cred.yaml --secret-file - < token.txt')
    .action(act(({ res }, c, o, v, [vault]) => res.credentialsCreate(c.client, o, vault, { file: v.file as string, secretFile: v.secretFile as string | undefined })));
  clientOptions(creds.command('rotate').argument('<vault_id>').argument('<credential_id>').description("replace a credential's secret"))
    .requiredOption('--secret-file <path>', 'the new secret: a file, or - for stdin')
    .action(act(({ res }, c, o, v, [vault, cred]) => res.credentialsRotate(c.client, o, vault, cred, v.secretFile as string)));
  clientOptions(creds.command('archive').argument('<vault_id>').argument('<credential_id>').description('archive a credential'))
    .action(act(({ res }, c, o, _v, [vault, cred]) => res.credentialsArchive(c.client, o, vault, cred)));

  // ── run and tail ──
  clientOptions(program.command('run').argument('<agent>', 'agent id, id@version, or exact name').argument('<prompt>').description('start a session with a prompt and watch it live'))
    .option('--env <environment_id>', `the environment (default: the cloud environment named "hangar-cli", created on first use)`)
    .option('--file <path>', 'upload a file and mount it at /mnt/session/uploads/<name> (repeatable)', collectValues, [])
    .option('--title <title>', 'the session title')
    .option('--non-interactive', 'never ask: exit 3 when a tool call needs a confirmation or an answer')
    .addHelpText('after', `\nAgent text goes to stdout as it arrives, tool calls as "→ name(arg)" lines; status, prompts and the usage/cost
line go to stderr. Ctrl-C sends user.interrupt; a second Ctrl-C detaches (the session goes on).\n${EXIT_CODES}`)
    .action(act(async (_m, c, _o, v, [agent, prompt]) => {
      const { runCommand } = await import('./run.ts');
      return runCommand(c, agent, prompt, { env: v.env as string | undefined, file: v.file as string[], title: v.title as string | undefined, nonInteractive: Boolean(v.nonInteractive), json: Boolean(v.json) });
    }));
  clientOptions(program.command('tail').argument('<session_id>').description("attach to a session: replay its log, then watch it live and answer what it waits for"))
    .option('--non-interactive', 'never ask: exit 3 when a tool call needs a confirmation or an answer')
    .addHelpText('after', `\nEnds when the turn ends (at once if the session is idle with nothing pending).\n${EXIT_CODES}`)
    .action(act(async (_m, c, _o, v, [session]) => {
      const { tailCommand } = await import('./run.ts');
      return tailCommand(c, session, { nonInteractive: Boolean(v.nonInteractive), json: Boolean(v.json) });
    }));

  // ── configuration ──
  clientOptions(program.command('login').description('check a server URL and API key, then save them to the config file'), false)
    .option('--api-key-file <path>', 'read the key from a file, or - for stdin (keeps it out of shell history)')
    .action(act(async (_m, _c, o, v) => {
      const { login } = await import('./config.ts');
      await login(o, { url: v.url, apiKey: v.apiKey, apiKeyFile: v.apiKeyFile as string | undefined });
    }, false));
  clientOptions(program.command('config').description('show the server URL and API key the client commands use, and where each comes from'))
    .action(act(async (_m, _c, o, v) => {
      const { showConfig } = await import('./config.ts');
      showConfig(o, { url: v.url, apiKey: v.apiKey });
    }, false));

  for (const name of ['agents', 'envs', 'sessions', 'vaults', 'run', 'tail', 'login', 'config']) {
    const cmd = program.commands.find((c) => c.name() === name)!;
    cmd.addHelpText('after', `${CONNECTION_HELP}\n${name === 'run' || name === 'tail' ? '' : EXIT_CODES}`);
    overrideExits(cmd);
  }
}

/** Usage mistakes at any depth come back to main (exit 2) instead of exiting inside commander. */
function overrideExits(cmd: Command): void {
  cmd.exitOverride();
  const path: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) path.unshift(c.name());
  cmd.showHelpAfterError(`(${path.join(' ')} --help shows its usage)`);
  for (const sub of cmd.commands) overrideExits(sub);
}
