import type { EventSourceInput } from '@islet/sdk';
import { intFlag, jsonFlag, parseCommand, type CliEnv } from '../args.ts';
import { UsageError } from '../errors.ts';
import { table } from '../output.ts';

export const EVENT_SOURCES_HELP = `islet event-sources <ls|create|rm|enable|disable> [options]

  ls [--function NAME]                      list mappings
  create <function> --subject S [options]   map a NATS subject (islet makes a stream)
  create <function> --stream S [--filter-subject S] [options]   map an existing stream
  rm <id>  |  enable <id>  |  disable <id>

create options:
  --batch-size N           messages per batch (default 10)
  --window-ms MS           wait up to MS to fill a batch (default 0)
  --report-failures        the handler reports partial batch failures
  --starting-position P    LATEST (default) | TRIM_HORIZON
  --config JSON            any other mapping settings as JSON (merged last)`;

const OPTIONS = {
  function: { type: 'string' },
  subject: { type: 'string' },
  stream: { type: 'string' },
  'filter-subject': { type: 'string' },
  'batch-size': { type: 'string' },
  'window-ms': { type: 'string' },
  'report-failures': { type: 'boolean' },
  'starting-position': { type: 'string' },
  config: { type: 'string' },
} as const;

/** `islet event-sources …`. */
export async function eventSourcesCommand(args: string[], cliEnv: CliEnv): Promise<number> {
  const { values, positionals, out, client } = parseCommand(args, OPTIONS, cliEnv, { max: 2 });
  const [sub, arg] = positionals;
  if (values.help || sub === undefined) {
    out.line(EVENT_SOURCES_HELP);
    if (sub === undefined && !values.help) throw new UsageError('missing subcommand');
    return 0;
  }
  const islet = client();
  switch (sub) {
    case 'ls':
    case 'list': {
      const list = await islet.eventSources.list(values.function ?? arg);
      out.result({ eventSources: list }, () => list.length === 0 ? 'no event sources' : table([
        ['ID', 'FUNCTION', 'SOURCE', 'STATE', 'BATCH', 'PROCESSED', 'FAILED'],
        ...list.map((m) => [
          m.id, m.function, 'subject' in m.source ? `subject ${m.source.subject}` : `stream ${m.source.stream}`,
          m.state, String(m.batchSize ?? ''), String(m.counters?.processed ?? 0), String(m.counters?.failed ?? 0),
        ]),
      ]));
      return 0;
    }
    case 'create': {
      const fn = arg ?? values.function;
      if (fn === undefined) throw new UsageError('create needs the function name');
      if ((values.subject === undefined) === (values.stream === undefined)) throw new UsageError('create needs --subject or --stream (one of them)');
      const input: Record<string, unknown> = {
        function: fn,
        source: values.subject !== undefined
          ? { subject: values.subject }
          : { stream: values.stream, ...(values['filter-subject'] ? { filterSubject: values['filter-subject'] } : {}) },
      };
      const batchSize = intFlag('batch-size', values['batch-size'], 1);
      if (batchSize !== undefined) input.batchSize = batchSize;
      const windowMs = intFlag('window-ms', values['window-ms'], 0);
      if (windowMs !== undefined) input.maxBatchingWindowMs = windowMs;
      if (values['report-failures']) input.reportBatchItemFailures = true;
      if (values['starting-position']) input.startingPosition = values['starting-position'];
      if (values.config !== undefined) {
        const extra = jsonFlag('config', values.config);
        if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) throw new UsageError('--config takes a JSON object');
        Object.assign(input, extra);
      }
      const mapping = await islet.eventSources.create(input as unknown as EventSourceInput);
      out.result(mapping, () => `created ${mapping.id} (${mapping.state}) → ${mapping.function}`);
      return 0;
    }
    case 'rm':
    case 'delete': {
      if (arg === undefined) throw new UsageError(`${sub} needs the mapping id`);
      await islet.eventSources.delete(arg);
      out.result({ deleted: arg }, () => `deleted ${arg}`);
      return 0;
    }
    case 'enable':
    case 'disable': {
      if (arg === undefined) throw new UsageError(`${sub} needs the mapping id`);
      const mapping = sub === 'enable' ? await islet.eventSources.enable(arg) : await islet.eventSources.disable(arg);
      out.result(mapping, () => `${mapping.id}: ${mapping.state}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown event-sources subcommand ${JSON.stringify(sub)} (ls, create, rm, enable, disable)`);
  }
}
