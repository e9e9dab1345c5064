// Baseline server for the warm section: a bare Hono hello world on @hono/node-server, in its own
// process like islet, so both are measured the same way. Sends {url} over IPC once listening.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.all('*', (c) => c.text('hello'));
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${info.port}` });
});
process.on('disconnect', () => { server.close(); process.exit(0); });
process.on('message', (msg: { type?: string }) => {
  if (msg.type === 'stats') process.send?.({ type: 'stats', rss: process.memoryUsage().rss });
});
