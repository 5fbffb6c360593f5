/** Reading a fleet lab's ownership directory (its DynamoDB table on dynalite) in tests. */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Fleet } from '../../scripts/fleet/lab';

/** A directory item as DynamoDB returns it (string attributes only are read). */
export type DirectoryItem = Record<string, { S?: string }>;

/** What the directory holds once its peer items of one Listener are all written. */
export interface DirectoryWithPeers {
  /** Every item of the table. */
  readonly items: DirectoryItem[];
  /** The items of WireGuard peers of the Listener (`peer#<listener>#<key>`). */
  readonly peerItems: DirectoryItem[];
}

/**
 * Scans the directory until it holds `peers` peer items of `listener` (every 200 ms, for at most
 * 5 s; the last scan is returned either way, so the caller's assertions say what is missing).
 */
export async function directoryWithPeers(fleet: Fleet, listener: string, peers: number): Promise<DirectoryWithPeers> {
  const dynamo = new DynamoDBClient({ region: fleet.region, endpoint: fleet.endpoints.dynamodb, credentials: { accessKeyId: 'fleet', secretAccessKey: 'fleet' } });
  try {
    const scan = async (): Promise<DirectoryWithPeers> => {
      const items = (await dynamo.send(new ScanCommand({ TableName: fleet.directoryTableName }))).Items ?? [];
      return { items, peerItems: items.filter((i) => i.pk.S!.startsWith(`peer#${listener}#`)) };
    };
    let found = await scan();
    const deadline = Date.now() + 5_000;
    while (found.peerItems.length < peers && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 200));
      found = await scan();
    }
    return found;
  } finally {
    dynamo.destroy();
  }
}
