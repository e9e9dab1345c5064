import type { EventSourceMapping } from '../../events/sources/types.ts';
import { readJsonBody } from '../body.ts';
import { jsonResponse } from '../respond.ts';
import type { AdminRouter } from '../types.ts';

/** Mapping bodies are small; a filter with five patterns fits easily. */
const MAX_MAPPING_BODY_BYTES = 256 * 1024;

/** What the routes need from the event-source manager. */
export interface EventSourceApi {
  create(body: unknown): Promise<EventSourceMapping>;
  list(functionName?: string): EventSourceMapping[];
  get(id: string): EventSourceMapping;
  update(id: string, body: unknown): Promise<EventSourceMapping>;
  setEnabled(id: string, enabled: boolean): Promise<EventSourceMapping>;
  delete(id: string): Promise<EventSourceMapping>;
}

/**
 * `/v1/event-sources` routes: create, list (`?function=`), get, update, enable/disable, delete.
 * Register with `extraAdminRoutes: [(v1) => eventSourceRoutes(v1, manager)]`.
 */
export function eventSourceRoutes(v1: AdminRouter, api: EventSourceApi): void {
  v1.post('/event-sources', async (c) => {
    const body = await readJsonBody(c, MAX_MAPPING_BODY_BYTES);
    return jsonResponse(await api.create(body?.value), 201);
  });

  v1.get('/event-sources', (c) => jsonResponse({ eventSources: api.list(c.req.query('function') || undefined) }, 200));

  v1.get('/event-sources/:id', (c) => jsonResponse(api.get(c.req.param('id')), 200));

  v1.put('/event-sources/:id', async (c) => {
    const body = await readJsonBody(c, MAX_MAPPING_BODY_BYTES);
    return jsonResponse(await api.update(c.req.param('id'), body?.value ?? {}), 200);
  });

  v1.post('/event-sources/:id/enable', async (c) => jsonResponse(await api.setEnabled(c.req.param('id'), true), 200));
  v1.post('/event-sources/:id/disable', async (c) => jsonResponse(await api.setEnabled(c.req.param('id'), false), 200));

  v1.delete('/event-sources/:id', async (c) => jsonResponse(await api.delete(c.req.param('id')), 200));
}
