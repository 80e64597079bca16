/** A message attribute value as SQS models it (binary values are raw bytes here, base64 on JSON wires). */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Uint8Array;
}

export type MessageAttributes = Record<string, MessageAttributeValue>;

/** System attributes a sender may set: only AWSTraceHeader, as in SQS. */
export interface SendSystemAttributes {
  AWSTraceHeader?: MessageAttributeValue;
}

/** The system attributes a receive can return. Timestamps are epoch milliseconds, as strings on the wire. */
export interface ReceivedSystemAttributes {
  SenderId?: string;
  SentTimestamp: string;
  ApproximateReceiveCount: string;
  ApproximateFirstReceiveTimestamp: string;
  SequenceNumber?: string;
  MessageDeduplicationId?: string;
  MessageGroupId?: string;
  AWSTraceHeader?: string;
  DeadLetterQueueSourceArn?: string;
}
