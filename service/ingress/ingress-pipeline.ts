/**
 * What happens to each datagram a Listener accepts: client restriction check, flow refresh, tag,
 * packet JSON (once per distinct destination Formatter), and hand-off to every destination of
 * the Listener. Nothing here awaits; each step is synchronous and small.
 */
import type { BlockList } from 'node:net';
import { DEFAULT_REPLY_TAG_TTL_SECONDS } from '../../lib/private/limits';
import { MetricDimension, MetricName } from '../../lib/private/metrics';
import { blockListOf, formatEndpoint, listContains } from '../../lib/private/network';
import type { FormatterName, ListenerRecord } from '../../lib/private/records';
import type { FailureReporter, InboundDatagram, IngressSink, ListenerHandle, MetricsRecorder } from '../contracts';
import type { DestinationLane } from '../destinations/destination-lane';
import { isQueuedPacket, PacketLocal, packetTemplate, PacketTemplate, queueDatagram } from '../destinations/packet';
import type { FlowTable } from '../egress/flow-table';
import { DEFAULT_FORMATTER } from '../formatter';
import type { ReplyTagCodec } from '../replies/reply-tags';

export interface IngressPipelineOptions {
  readonly record: ListenerRecord;
  /** `IngressRegion` of every packet. */
  readonly region: string;
  readonly tags: ReplyTagCodec;
  readonly lanes: readonly DestinationLane[];
  readonly failures: FailureReporter;
  readonly metrics: MetricsRecorder;
  /** Records each client's last datagram (egress flow ownership). */
  readonly flows?: FlowTable;
  /** `Local.IpAddress` of a Listener without `PublicAddress` (AWS: the load balancer's address of the task's zone). @default - the bound address */
  readonly publicAddress?: string;
}

interface FormatterGroup {
  readonly formatter: FormatterName;
  readonly lanes: readonly DestinationLane[];
}

/** The ingress path of one Listener. */
export class IngressPipeline implements IngressSink {
  public readonly record: ListenerRecord;
  private readonly restrictions?: BlockList;
  private readonly groups: readonly FormatterGroup[];
  private readonly ttlSeconds: number;
  private readonly dims: Readonly<Record<string, string>>;
  /** Serialized fixed fields per Formatter group, for the Listener handle they were built for. */
  private templates?: readonly PacketTemplate[];
  private templatesFor?: ListenerHandle;

  /** Throws when a ClientRestrictions network is not a CIDR. */
  public constructor(private readonly options: IngressPipelineOptions) {
    this.record = options.record;
    const networks = options.record.ClientRestrictions?.Networks;
    if (networks) this.restrictions = blockListOf(networks, `Listener ${options.record.Name} ClientRestrictions.Networks`);
    const groups = new Map<FormatterName, DestinationLane[]>();
    for (const lane of options.lanes) {
      const list = groups.get(lane.formatter);
      if (list) list.push(lane);
      else groups.set(lane.formatter, [lane]);
    }
    this.groups = [...groups].map(([formatter, lanes]) => ({ formatter, lanes }));
    this.ttlSeconds = options.record.ReplyTagTtlSeconds ?? DEFAULT_REPLY_TAG_TTL_SECONDS;
    this.dims = Object.freeze({ [MetricDimension.Listener]: options.record.Name });
  }

  /** The destinations this pipeline feeds. */
  public get lanes(): readonly DestinationLane[] {
    return this.options.lanes;
  }

  public accept(listener: ListenerHandle, datagram: InboundDatagram): void {
    const { metrics, failures, flows, tags } = this.options;
    const name = listener.name;
    metrics.increment(MetricName.DatagramsIn, 1, this.dims);
    if (this.restrictions !== undefined && !listContains(this.restrictions, datagram.remoteAddress)) {
      failures.report(
        { code: 'ClientRestricted', reason: `client ${datagram.remoteAddress} is not in the Listener's ClientRestrictions.Networks` },
        { listener: name, remote: formatEndpoint(datagram.remoteAddress, datagram.remotePort) },
      );
      return;
    }
    flows?.touch(name, datagram.remoteAddress, datagram.remotePort, datagram.receivedAt);
    if (this.groups.length === 0) return;
    const tag = tags.mint(name, datagram.remoteAddress, datagram.remotePort, this.ttlSeconds, datagram.peerKey, datagram.inner, datagram.receivedAt);
    const templates = this.templatesOf(listener);
    for (let g = 0; g < this.groups.length; g++) {
      const queued = queueDatagram(datagram, tag, templates[g]);
      if (isQueuedPacket(queued)) {
        for (const lane of this.groups[g].lanes) lane.enqueue(queued, datagram.data);
      } else {
        const remote = formatEndpoint(datagram.remoteAddress, datagram.remotePort);
        for (const lane of this.groups[g].lanes) failures.report(queued, { listener: name, destination: lane.name, remote, tag });
      }
    }
  }

  /** Delivers everything queued and waits for deliveries in progress. */
  public async drain(): Promise<void> {
    await Promise.all(this.options.lanes.map((lane) => lane.drain()));
  }

  /** Drains and releases the destinations; with `deadlineMs`, what is not delivered by then gets a failure record. */
  public async close(deadlineMs?: number): Promise<void> {
    await Promise.all(this.options.lanes.map((lane) => lane.close(deadlineMs)));
  }

  private templatesOf(listener: ListenerHandle): readonly PacketTemplate[] {
    if (this.templates === undefined || this.templatesFor !== listener) {
      const r = this.options.record;
      const local: PacketLocal = {
        Domain: r.Domain ?? r.Name,
        Port: listener.port,
        IpAddress: r.PublicAddress ?? this.options.publicAddress ?? listener.address,
        Protocol: listener.protocol,
      };
      this.templates = this.groups.map((group) => packetTemplate(local, this.options.region, group.formatter));
      this.templatesFor = listener;
    }
    return this.templates;
  }
}

/** The Formatter of a destination: its own, else the Listener's, else base64. */
export function destinationFormatter(listener: ListenerRecord, destinationFormatterName?: FormatterName): FormatterName {
  return destinationFormatterName ?? listener.Formatter ?? DEFAULT_FORMATTER;
}
