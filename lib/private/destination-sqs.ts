/**
 * The SQS destination's options as the `Arguments` of its record (Proxylity's SQS arguments).
 * The grants stay with the factory in lib/destination.ts.
 */
import type { SqsDestinationOptions } from '../destination';
import type { DestinationArgumentsRecord } from './records';

/** `Arguments` for `options`; undefined when every option keeps its default. */
export function sqsDestinationArguments(options: SqsDestinationOptions): DestinationArgumentsRecord | undefined {
  const args: DestinationArgumentsRecord = {
    ...(options.sendRaw !== undefined ? { SendRaw: options.sendRaw } : {}),
    ...(options.useMessageAttributes !== undefined ? { UseMessageAttributes: options.useMessageAttributes } : {}),
    ...(options.messageGroupIdExpression !== undefined ? { MessageGroupIdExpression: options.messageGroupIdExpression } : {}),
    ...(options.messageGroupIdFormatter !== undefined ? { MessageGroupIdFormatter: options.messageGroupIdFormatter } : {}),
    ...(options.messageDeduplicationIdExpression !== undefined ? { MessageDeduplicationIdExpression: options.messageDeduplicationIdExpression } : {}),
    ...(options.messageDeduplicationIdFormatter !== undefined ? { MessageDeduplicationIdFormatter: options.messageDeduplicationIdFormatter } : {}),
  };
  return Object.keys(args).length > 0 ? args : undefined;
}
