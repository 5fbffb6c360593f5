/**
 * The wire formats of the SNS API, as far as the local SNS endpoint needs them: requests in the
 * awsQuery protocol (form-encoded, what the AWS SDK for JavaScript v3, the AWS CLI and boto3 send)
 * and in the JSON protocol (`application/x-amz-json-1.0` with `X-Amz-Target`), and responses and
 * errors in the matching format.
 */

/** XML namespace of every SNS query-protocol response. */
export const SNS_XML_NAMESPACE = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** A message attribute as clients send it. */
export interface MessageAttributeInput {
  readonly DataType?: string;
  readonly StringValue?: string;
  /** Base64 (both protocols carry blobs as base64). */
  readonly BinaryValue?: string;
}

/** The parameters of a publish, from either protocol. */
export interface PublishInput {
  readonly TopicArn?: string;
  readonly TargetArn?: string;
  readonly PhoneNumber?: string;
  readonly Message?: string;
  readonly Subject?: string;
  readonly MessageStructure?: string;
  readonly MessageGroupId?: string;
  readonly MessageDeduplicationId?: string;
  /** In the order the client sent them. */
  readonly MessageAttributes: ReadonlyArray<readonly [string, MessageAttributeInput]>;
}

export interface PublishBatchEntryInput extends PublishInput {
  readonly Id?: string;
}

/** A decoded request: the action and an accessor for its parameters. */
export interface SnsRequest {
  readonly action: string;
  readonly protocol: 'query' | 'json';
  /** A top-level string parameter. */
  str(name: string): string | undefined;
  publish(): PublishInput;
  batchEntries(): PublishBatchEntryInput[];
}

/** An SNS error: query-protocol code, HTTP status and JSON-protocol shape name. */
export class SnsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly sender = true,
  ) {
    super(message);
  }

  /** Shape name in the JSON protocol (`NotFound` → `NotFoundException`). */
  get shape(): string {
    return JSON_SHAPES[this.code] ?? this.code;
  }
}

const JSON_SHAPES: Record<string, string> = {
  NotFound: 'NotFoundException',
  InvalidParameter: 'InvalidParameterException',
  ParameterValueInvalid: 'InvalidParameterValueException',
  EmptyBatchRequest: 'EmptyBatchRequestException',
  TooManyEntriesInBatchRequest: 'TooManyEntriesInBatchRequestException',
  BatchEntryIdsNotDistinct: 'BatchEntryIdsNotDistinctException',
  InvalidBatchEntryId: 'InvalidBatchEntryIdException',
  BatchRequestTooLong: 'BatchRequestTooLongException',
  InternalError: 'InternalErrorException',
  AuthorizationError: 'AuthorizationErrorException',
};

/** Decodes an awsQuery request body (plus any query-string parameters). */
export function parseQueryRequest(body: string, search: string): SnsRequest {
  const params = new Map<string, string>();
  for (const source of [search, body]) {
    for (const [k, v] of new URLSearchParams(source)) params.set(k, v);
  }
  const action = params.get('Action');
  if (!action) throw new SnsError('MissingAction', 400, 'the request names no Action (expected Action=Publish, PublishBatch, ListTopics, CreateTopic or GetTopicAttributes)');
  return {
    action,
    protocol: 'query',
    str: (name) => params.get(name),
    publish: () => queryPublish(params),
    batchEntries: () => {
      const groups = new Map<number, Map<string, string>>();
      const re = /^PublishBatchRequestEntries\.member\.(\d+)\.(.+)$/;
      for (const [k, v] of params) {
        const m = re.exec(k);
        if (!m) continue;
        const n = Number(m[1]);
        let g = groups.get(n);
        if (!g) groups.set(n, (g = new Map()));
        g.set(m[2], v);
      }
      return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => ({ ...queryPublish(g), Id: g.get('Id') }));
    },
  };
}

function queryPublish(params: ReadonlyMap<string, string>): PublishInput {
  const get = (name: string): string | undefined => params.get(name);
  const attrs = new Map<number, [string, MessageAttributeInput]>();
  const re = /^MessageAttributes\.entry\.(\d+)\.Name$/;
  for (const [k, name] of params) {
    const m = re.exec(k);
    if (!m) continue;
    const base = `MessageAttributes.entry.${m[1]}.Value.`;
    attrs.set(Number(m[1]), [name, { DataType: get(`${base}DataType`), StringValue: get(`${base}StringValue`), BinaryValue: get(`${base}BinaryValue`) }]);
  }
  return {
    TopicArn: get('TopicArn'),
    TargetArn: get('TargetArn'),
    PhoneNumber: get('PhoneNumber'),
    Message: get('Message'),
    Subject: get('Subject'),
    MessageStructure: get('MessageStructure'),
    MessageGroupId: get('MessageGroupId'),
    MessageDeduplicationId: get('MessageDeduplicationId'),
    MessageAttributes: [...attrs.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => e),
  };
}

/** Decodes a JSON-protocol request; `target` is the X-Amz-Target header (`<Service>.<Action>`). */
export function parseJsonRequest(body: string, target: string | undefined): SnsRequest {
  const action = target?.slice(target.lastIndexOf('.') + 1);
  if (!action) throw new SnsError('MissingAction', 400, 'JSON request without an X-Amz-Target header (expected AmazonSNS.<Action>)');
  let value: unknown;
  try {
    value = body.length === 0 ? {} : JSON.parse(body);
  } catch {
    throw new SnsError('SerializationException', 400, 'request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SnsError('SerializationException', 400, 'request body must be a JSON object');
  }
  const doc = value as Record<string, unknown>;
  return {
    action,
    protocol: 'json',
    str: (name) => stringField(doc, name),
    publish: () => jsonPublish(doc),
    batchEntries: () => {
      const entries = doc.PublishBatchRequestEntries;
      if (entries === undefined) return [];
      if (!Array.isArray(entries)) throw new SnsError('InvalidParameter', 400, 'PublishBatchRequestEntries must be a list');
      return entries.map((e) => {
        const entry = typeof e === 'object' && e !== null ? (e as Record<string, unknown>) : {};
        return { ...jsonPublish(entry), Id: stringField(entry, 'Id') };
      });
    },
  };
}

function jsonPublish(doc: Record<string, unknown>): PublishInput {
  const attrs: Array<[string, MessageAttributeInput]> = [];
  const raw = doc.MessageAttributes;
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new SnsError('InvalidParameter', 400, 'MessageAttributes must be a map of name to {DataType, StringValue | BinaryValue}');
    for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
      const a = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
      attrs.push([name, { DataType: stringField(a, 'DataType'), StringValue: stringField(a, 'StringValue'), BinaryValue: stringField(a, 'BinaryValue') }]);
    }
  }
  return {
    TopicArn: stringField(doc, 'TopicArn'),
    TargetArn: stringField(doc, 'TargetArn'),
    PhoneNumber: stringField(doc, 'PhoneNumber'),
    Message: stringField(doc, 'Message'),
    Subject: stringField(doc, 'Subject'),
    MessageStructure: stringField(doc, 'MessageStructure'),
    MessageGroupId: stringField(doc, 'MessageGroupId'),
    MessageDeduplicationId: stringField(doc, 'MessageDeduplicationId'),
    MessageAttributes: attrs,
  };
}

function stringField(doc: Record<string, unknown>, name: string): string | undefined {
  const v = doc[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new SnsError('InvalidParameter', 400, `${name} must be a string`);
  return v;
}

/**
 * A response value, rendered as XML (query) or JSON. Objects become elements, arrays lists of
 * `<member>`, and {@link XmlMap} the `<entry><key/><value/></entry>` form of string maps.
 */
export type ResponseValue = string | number | boolean | ResponseObject | ResponseValue[] | XmlMap;
export interface ResponseObject {
  readonly [key: string]: ResponseValue | undefined;
}

/** A string map (GetTopicAttributes `Attributes`). */
export class XmlMap {
  constructor(readonly entries: Readonly<Record<string, string>>) {}
}

/** A successful response body in the request's protocol. */
export function renderResult(protocol: 'query' | 'json', action: string, requestId: string, result: ResponseObject): { contentType: string; body: string } {
  if (protocol === 'json') {
    return { contentType: 'application/x-amz-json-1.0', body: JSON.stringify(result, (_k, v: unknown) => (v instanceof XmlMap ? v.entries : v)) };
  }
  const inner = Object.keys(result).length === 0 ? '' : `<${action}Result>${xmlOf(result)}</${action}Result>`;
  return {
    contentType: 'text/xml',
    body: `<?xml version="1.0"?>\n<${action}Response xmlns="${SNS_XML_NAMESPACE}">${inner}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>\n`,
  };
}

/** An error response body and headers in the request's protocol. */
export function renderError(protocol: 'query' | 'json', requestId: string, err: SnsError): { contentType: string; body: string; headers: Record<string, string> } {
  const type = err.sender ? 'Sender' : 'Receiver';
  if (protocol === 'json') {
    return {
      contentType: 'application/x-amz-json-1.0',
      body: JSON.stringify({ __type: `com.amazonaws.sns#${err.shape}`, message: err.message }),
      headers: { 'x-amzn-query-error': `${err.code};${type}` },
    };
  }
  return {
    contentType: 'text/xml',
    body: `<?xml version="1.0"?>\n<ErrorResponse xmlns="${SNS_XML_NAMESPACE}"><Error><Type>${type}</Type><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>\n`,
    headers: {},
  };
}

function xmlOf(value: ResponseValue | undefined): string {
  if (value === undefined) return '';
  if (value instanceof XmlMap) {
    return Object.entries(value.entries)
      .map(([k, v]) => `<entry><key>${escapeXml(k)}</key><value>${escapeXml(v)}</value></entry>`)
      .join('');
  }
  if (Array.isArray(value)) return value.map((v) => `<member>${xmlOf(v)}</member>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<${k}>${xmlOf(v)}</${k}>`)
      .join('');
  }
  return escapeXml(String(value));
}

/** Escapes text for XML, dropping characters XML 1.0 cannot carry. */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
