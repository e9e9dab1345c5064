import { Hono } from 'hono';

interface Env {
  APP_NAME?: string;
}

// islet mounts the function at /fn/<name>: request.url carries the path below it, so routes
// read '/hello/:name', not '/fn/hono-app/hello/:name'.
const app = new Hono<{ Bindings: Env }>();

app.use('*', async (c, next) => {
  const started = Date.now();
  await next();
  console.log(`${c.req.method} ${c.req.path} -> ${c.res.status} in ${Date.now() - started} ms`);
});

app.get('/', (c) => c.json({ app: c.env.APP_NAME ?? 'hono-app', routes: ['/hello/:name', '/echo'] }));
app.get('/hello/:name', (c) => c.text(`Hello, ${c.req.param('name')}!`));
app.post('/echo', async (c) => c.json({ received: await c.req.json(), query: c.req.query() }));
app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
app.onError((err, c) => c.json({ error: err.message }, 500));

// A Hono app is an edge-style module: it has a fetch(request, env, ctx) method.
export default app;
