/**
 * The SQS destination's options as the `Arguments` of its record (Proxylity's SQS arguments);
 * a Formatter that cannot render an argument is reported by the record check at synth. The grants
 * stay with the factory in lib/destination.ts.
 */
import type { ArgumentFormatterName, DestinationArgumentsRecord } from './records';

/** The SQS options of `Destination.sqs` (`SqsDestinationOptions` of lib/destination.ts). */
export interface SqsArgumentOptions {
  readonly sendRaw?: boolean;
  readonly useMessageAttributes?: boolean;
  readonly messageGroupIdExpression?: string;
  readonly messageGroupIdFormatter?: string;
  readonly messageDeduplicationIdExpression?: string;
  readonly messageDeduplicationIdFormatter?: string;
}

/** `Arguments` for `options`; undefined when every option keeps its default. */
export function sqsDestinationArguments(options: SqsArgumentOptions): DestinationArgumentsRecord | undefined {
  const args: DestinationArgumentsRecord = {
    ...(options.sendRaw !== undefined ? { SendRaw: options.sendRaw } : {}),
    ...(options.useMessageAttributes !== undefined ? { UseMessageAttributes: options.useMessageAttributes } : {}),
    ...(options.messageGroupIdExpression !== undefined ? { MessageGroupIdExpression: options.messageGroupIdExpression } : {}),
    ...(options.messageGroupIdFormatter !== undefined
      ? { MessageGroupIdFormatter: options.messageGroupIdFormatter as ArgumentFormatterName } : {}),
    ...(options.messageDeduplicationIdExpression !== undefined ? { MessageDeduplicationIdExpression: options.messageDeduplicationIdExpression } : {}),
    ...(options.messageDeduplicationIdFormatter !== undefined
      ? { MessageDeduplicationIdFormatter: options.messageDeduplicationIdFormatter as ArgumentFormatterName } : {}),
  };
  return Object.keys(args).length > 0 ? args : undefined;
}
