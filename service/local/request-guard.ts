/**
 * Which HTTP requests the local SNS endpoint serves. The endpoint listens on the developer's
 * machine, where any web page in a browser can make requests to it; it serves only what the AWS
 * SDKs, the AWS CLI and boto3 send:
 *
 * - method POST (a page can make cross-site GETs with any query string: refused, 405);
 * - content type `application/x-www-form-urlencoded` (awsQuery, what the AWS SDK for JavaScript
 *   v3 SNSClient, the AWS CLI and boto3 send) or `application/x-amz-json-1.0`/`1.1` (JSON
 *   protocol), with any parameters such as `charset` (`text/plain` and multipart, which a page
 *   can POST without a CORS preflight, are refused: 415);
 * - no `Origin` other than the endpoint's own (browsers send one on every cross-origin POST;
 *   `null` is refused too), no `Sec-Fetch-Site` other than `none`/`same-origin`, and a `Host`
 *   naming the endpoint (its bound address, or `localhost` when that is a loopback address;
 *   any IP address when it listens on all addresses), so DNS-rebound names are refused: 403.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { SnsError } from './sns-protocol';

/** The two SNS wire protocols, told apart by content type. */
export type SnsProtocol = 'query' | 'json';

const FORM_TYPE = 'application/x-www-form-urlencoded';
const JSON_TYPES = ['application/x-amz-json-1.0', 'application/x-amz-json-1.1'];
const ALLOWED_FETCH_SITES = ['none', 'same-origin'];

/** The address and port the endpoint is bound to. */
export interface BoundAddress {
  readonly address: string;
  readonly port: number;
}

/** The protocol a request's content type names, or undefined when it is not one the AWS clients send. */
export function protocolOf(headers: IncomingHttpHeaders): SnsProtocol | undefined {
  const type = mediaType(headers['content-type']);
  if (type === FORM_TYPE) return 'query';
  if (JSON_TYPES.includes(type)) return 'json';
  return undefined;
}

/** The protocol to answer a refusal in: JSON when the request claims it, awsQuery XML otherwise. */
export function errorProtocolOf(headers: IncomingHttpHeaders): SnsProtocol {
  return protocolOf(headers) ?? 'query';
}

/**
 * Why the request is refused (405, 415 or 403 as an {@link SnsError}), or undefined when it is one
 * an AWS client sends to this endpoint.
 */
export function refusal(method: string | undefined, headers: IncomingHttpHeaders, bound: BoundAddress): SnsError | undefined {
  if (method !== 'POST') {
    return new SnsError('MethodNotAllowed', 405, `method ${JSON.stringify(method ?? null)} is not served by the local SNS endpoint (allowed: POST)`);
  }
  const hostNames = allowedHostNames(bound.address);
  const host = headers.host;
  if (host === undefined || !hostMatches(host, hostNames, bound.port)) {
    return forbidden(`Host ${JSON.stringify(host ?? null)} does not name the local SNS endpoint (allowed: ${describeHosts(hostNames, bound.port)})`);
  }
  const origin = headers.origin;
  if (origin !== undefined && !originMatches(origin, hostNames, bound.port)) {
    return forbidden(`Origin ${JSON.stringify(origin)} is not the local SNS endpoint; requests from web pages are refused (AWS clients send no Origin)`);
  }
  const site = headers['sec-fetch-site'];
  if (site !== undefined && !ALLOWED_FETCH_SITES.includes(site)) {
    return forbidden(`Sec-Fetch-Site ${JSON.stringify(site)} is refused; requests from other sites' web pages are not served (allowed: ${ALLOWED_FETCH_SITES.join(', ')} or none)`);
  }
  if (protocolOf(headers) === undefined) {
    const type = headers['content-type'];
    return new SnsError(
      'UnsupportedMediaType',
      415,
      `content type ${JSON.stringify(type ?? null)} is not served by the local SNS endpoint (allowed: ${FORM_TYPE}, ${JSON_TYPES.join(', ')})`,
    );
  }
  return undefined;
}

function forbidden(message: string): SnsError {
  return new SnsError('AuthorizationError', 403, message);
}

/** `Type/Sub; charset=…` → `type/sub`. */
function mediaType(value: string | undefined): string {
  return (value ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * Host names (without port) that name the endpoint, lower case, IPv6 in brackets; `*` stands for
 * any IP address literal (an endpoint on all addresses).
 */
function allowedHostNames(address: string): string[] {
  if (address === '0.0.0.0' || address === '::') return ['*', 'localhost'];
  const literal = isIP(address) === 6 ? `[${address.toLowerCase()}]` : address.toLowerCase();
  const loopback = address.startsWith('127.') || address === '::1' || address === 'localhost';
  return loopback && literal !== 'localhost' ? [literal, 'localhost'] : [literal];
}

function hostMatches(host: string, names: readonly string[], port: number): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(host.trim());
  if (!m || Number(m[2]) !== port) return false;
  const name = m[1].toLowerCase();
  if (names.includes(name)) return true;
  if (!names.includes('*')) return false;
  return isIP(name.replace(/^\[|\]$/g, '')) !== 0;
}

function originMatches(origin: string, names: readonly string[], port: number): boolean {
  const m = /^http:\/\/(.+)$/.exec(origin.trim());
  return m !== null && hostMatches(m[1], names, port);
}

function describeHosts(names: readonly string[], port: number): string {
  return names.map((n) => (n === '*' ? `<any IP address>:${port}` : `${n}:${port}`)).join(', ');
}
