export { toLambdaHttpEvent, fromLambdaHttpResult, toLambdaBatchEvent, fromLambdaBatchResult } from './lambda.ts';
export type { LambdaHttpEvent, LambdaBatchRecord } from './lambda.ts';
export { toIsolateInput, fromIsolateOutput, EVENT_REQUEST_URL } from './payload.ts';
