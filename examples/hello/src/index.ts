import { defineWorker } from '@islet/sdk/handler';

interface Env {
  GREETING?: string;
}

/** Edge style: answers every HTTP request with a greeting. `?name=` picks who is greeted. */
export default defineWorker<Env>({
  fetch(request, env) {
    const name = new URL(request.url).searchParams.get('name') ?? 'world';
    console.log(`greeting ${name}`);
    return new Response(`${env.GREETING ?? 'Hello'}, ${name}!\n`, {
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  },
});
