import { defineWorker } from '@islet/sdk/handler';

interface Tick {
  /** Counter of the publisher. */
  n: number;
  /** ISO time the tick was published. */
  at: string;
  schedule: string;
}

interface Env {
  JOB_NAME?: string;
}

/**
 * Edge style `queue` handler run on a schedule: a publisher sends a tick to a NATS subject
 * (tick-publisher.ts, or `nats pub` from cron) and an event-source mapping delivers it here.
 */
export default defineWorker<Env, Tick>({
  async queue(batch, env) {
    for (const message of batch.messages) {
      const tick = message.body;
      if (typeof tick !== 'object' || tick === null || typeof tick.n !== 'number') {
        console.warn(`ignoring a malformed tick ${message.id}`);
        message.ack();
        continue;
      }
      // The scheduled work goes here: clean up, poll, send a report, …
      console.log(`${env.JOB_NAME ?? 'job'} ran for tick ${tick.n} (${tick.schedule}) published at ${tick.at}`);
      message.ack();
    }
  },
});
