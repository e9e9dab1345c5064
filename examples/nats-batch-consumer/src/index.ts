import { defineBatchHandler, type BatchResponse } from '@islet/sdk/handler';

interface Order {
  orderId: string;
  amount: number;
}

function parseOrder(body: string): Order {
  const value = JSON.parse(body) as Partial<Order>;
  if (typeof value.orderId !== 'string') throw new TypeError('orderId must be a string');
  if (typeof value.amount !== 'number' || !(value.amount > 0)) throw new RangeError(`order ${value.orderId}: amount must be > 0`);
  return value as Order;
}

/**
 * Lambda style batch consumer for an event-source mapping on a NATS subject. Each record is
 * handled on its own; the bad ones are reported in `batchItemFailures`, so only they are
 * retried (and, once retries are spent, sent to the mapping's onFailure destination).
 */
export const handler = defineBatchHandler(async ({ Records }) => {
  const response: BatchResponse = { batchItemFailures: [] };
  for (const record of Records) {
    try {
      const order = parseOrder(record.body);
      console.log(`processed order ${order.orderId} (${order.amount}) attempt ${record.deliveryCount}`);
    } catch (err) {
      console.warn(`failed message ${record.messageId}: ${(err as Error).message}`);
      response.batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return response;
});
