import { defineHandler, type FunctionUrlEvent, type FunctionUrlResult } from '@islet/sdk/handler';

interface Todo {
  id: number;
  title: string;
  done: boolean;
}

// Module state lives as long as the warm isolate: fine for a demo, not a database.
const todos = new Map<number, Todo>();
let nextId = 1;

const json = (statusCode: number, body: unknown): FunctionUrlResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

function readBody(event: FunctionUrlEvent): unknown {
  if (event.body === undefined || event.body === '') return undefined;
  const text = event.isBase64Encoded ? atob(event.body) : event.body;
  try {
    return JSON.parse(text);
  } catch {
    return Symbol.for('invalid');
  }
}

/**
 * Lambda style: a small JSON API routed on `event.requestContext.http.method` and `event.rawPath`.
 *   GET /todos · POST /todos {title} · GET /todos/:id · PATCH /todos/:id {done} · DELETE /todos/:id
 */
export const handler = defineHandler<FunctionUrlEvent, FunctionUrlResult>(async (event) => {
  const method = event.requestContext.http.method;
  const path = event.rawPath.replace(/\/+$/, '') || '/';
  const idMatch = /^\/todos\/(\d+)$/.exec(path);
  const body = readBody(event);
  if (body === Symbol.for('invalid')) return json(400, { error: 'the body is not valid JSON' });

  if (path === '/todos' && method === 'GET') return json(200, { todos: [...todos.values()] });
  if (path === '/todos' && method === 'POST') {
    const title = (body as { title?: unknown } | undefined)?.title;
    if (typeof title !== 'string' || title.trim() === '') return json(400, { error: 'title must be a non-empty string' });
    const todo: Todo = { id: nextId++, title: title.trim(), done: false };
    todos.set(todo.id, todo);
    console.log(`created todo ${todo.id}`);
    return { ...json(201, todo), headers: { 'content-type': 'application/json', location: `/todos/${todo.id}` } };
  }
  if (idMatch) {
    const todo = todos.get(Number(idMatch[1]));
    if (todo === undefined) return json(404, { error: `no todo ${idMatch[1]}` });
    if (method === 'GET') return json(200, todo);
    if (method === 'PATCH') {
      const done = (body as { done?: unknown } | undefined)?.done;
      if (typeof done !== 'boolean') return json(400, { error: 'done must be a boolean' });
      todo.done = done;
      return json(200, todo);
    }
    if (method === 'DELETE') {
      todos.delete(todo.id);
      return { statusCode: 204 };
    }
    return json(405, { error: `${method} is not allowed on ${path}` });
  }
  return json(404, { error: `no route for ${method} ${path}` });
});
