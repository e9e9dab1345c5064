import { Buffer } from 'node:buffer';
import { MAX_CODE_BYTES } from '../defaults.ts';
import { IsletError } from '../errors.ts';
import type { InvocationResult } from '../invoke/types.ts';
import { assertFunctionName, toFunctionInfo } from '../registry/index.ts';
import { readJsonBody, requestHeader } from './body.ts';
import { idempotencyOptions } from './request-id.ts';
import { jsonResponse, outcomeError, type ResponseBody } from './respond.ts';
import { eventsUnavailable } from './triggers.ts';
import type { AdminRouter, AppDeps } from './types.ts';

/** A deploy body carries the code JSON-escaped, so allow for escaping on top of the code cap. */
const MAX_DEPLOY_BODY_BYTES = 2 * MAX_CODE_BYTES + 1024 * 1024;
/** `X-Log-Result` carries at most this much of the log tail (Lambda: last 4 KB). */
const LOG_TAIL_BYTES = 4 * 1024;

const InvocationTypes = { RequestResponse: 'RequestResponse', Event: 'Event', DryRun: 'DryRun' } as const;
type InvocationType = (typeof InvocationTypes)[keyof typeof InvocationTypes];

/** Function routes of the admin API: deploy, list, get, delete, invoke. */
export function adminFunctionRoutes(v1: AdminRouter, deps: AppDeps): void {
  const { functions, config } = deps;

  v1.put('/functions/:name', async (c) => {
    const name = c.req.param('name');
    assertFunctionName(name);
    const body = await readJsonBody(c, MAX_DEPLOY_BODY_BYTES);
    const { record, created } = await functions.deploy(name, body?.value);
    return jsonResponse(toFunctionInfo(record), created ? 201 : 200);
  });

  v1.get('/functions', async () => {
    const records = await functions.list();
    return jsonResponse({ functions: records.map((r) => toFunctionInfo(r)) }, 200);
  });

  v1.get('/functions/:name', async (c) => {
    const name = c.req.param('name');
    const record = await functions.get(name);
    const include = (c.req.query('include') ?? '').split(',');
    return jsonResponse(toFunctionInfo(record, include.includes('code')), 200);
  });

  v1.delete('/functions/:name', async (c) => {
    await functions.delete(c.req.param('name'));
    return new Response(null, { status: 204 });
  });

  v1.post('/functions/:name/invoke', async (c) => {
    const name = c.req.param('name');
    assertFunctionName(name);
    const type = invocationType(requestHeader(c, 'x-invocation-type'));
    const maxBytes = type === 'Event' ? config.ISLET_MAX_EVENT_BYTES : config.ISLET_MAX_REQUEST_BYTES;
    const body = await readJsonBody(c, maxBytes);
    const json = body?.text ?? 'null';

    if (type === 'DryRun') {
      const record = await functions.get(name);
      return new Response(null, { status: 204, headers: { 'X-Islet-Executed-Version': record.version } });
    }

    if (type === 'Event') {
      if (deps.asyncInvoker === undefined) throw eventsUnavailable();
      const record = await functions.get(name);
      const { requestId } = await deps.asyncInvoker.enqueue(name, { kind: 'event', json }, idempotencyOptions(requestHeader(c, 'idempotency-key')));
      c.set('requestId', requestId);
      return jsonResponse({ requestId }, 202, { 'X-Islet-Executed-Version': record.version });
    }

    const result = await deps.invoker.invoke(name, { kind: 'event', json }, {
      trigger: 'invoke',
      requestId: c.get('requestId'),
      logTail: requestHeader(c, 'x-log-type')?.toLowerCase() === 'tail',
      signal: c.req.raw.signal,
    });
    return invokeResponse(result);
  });
}

function invocationType(header: string | undefined): InvocationType {
  if (header === undefined || header === '') return 'RequestResponse';
  const type = Object.values(InvocationTypes).find((t) => t.toLowerCase() === header.toLowerCase());
  if (type === undefined) {
    throw new IsletError('BadRequest', `X-Invocation-Type must be RequestResponse, Event or DryRun, got ${JSON.stringify(header.slice(0, 40))}`);
  }
  return type;
}

/** Lambda's contract: 200 with the result, or 200 + `X-Function-Error: Unhandled` + the error. */
function invokeResponse(result: InvocationResult): Response {
  const headers: Record<string, string> = { 'X-Islet-Executed-Version': result.report.version };
  if (result.logTail !== undefined) {
    const tail = Buffer.from(result.logTail, 'utf8');
    headers['X-Log-Result'] = tail.subarray(Math.max(0, tail.byteLength - LOG_TAIL_BYTES)).toString('base64');
  }
  if (result.outcome === 'throttled') throw outcomeError(result);
  if (result.outcome !== 'success') {
    const error = result.error ?? { errorType: 'Error', errorMessage: 'the invocation failed', trace: [] };
    return jsonResponse({ errorType: error.errorType, errorMessage: error.errorMessage, trace: error.trace }, 200, {
      ...headers,
      'X-Function-Error': 'Unhandled',
    });
  }
  const value = result.value;
  if (value?.kind === 'event') {
    return new Response(value.json, { status: 200, headers: { ...headers, 'content-type': 'application/json; charset=utf-8' } });
  }
  if (value?.kind === 'http') {
    // An edge-style function answered an event with a Response: hand its body back as is.
    const contentType = value.headers.find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? 'application/octet-stream';
    return new Response(value.body as ResponseBody, { status: 200, headers: { ...headers, 'content-type': contentType } });
  }
  throw new IsletError('FunctionError', 'the function returned no result');
}
