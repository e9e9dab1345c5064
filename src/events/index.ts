export { NatsEvents, NatsModes, EVENTS_UNAVAILABLE_HINT, eventsUnavailable } from './connection.ts';
export type { NatsMode, NatsStatus, NatsEventsOptions } from './connection.ts';
export { buildInvocationRecord, Conditions, deliverRecord, errorPayload, fitRecord, functionArn, parseDestination } from './destinations.ts';
export type { Condition, Destination, DestinationDeps, InvocationRecord, RecordInput } from './destinations.ts';
export { AsyncQueue } from './async/index.ts';
export type { AsyncConfig, InvocationStatus } from './async/index.ts';
