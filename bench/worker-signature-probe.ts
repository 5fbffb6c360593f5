/**
 * Where the SNS signature check's RSA operation runs, with data-plane workers: the service's
 * SnsMessageVerifier (certificate cached) checking notifications signed as SNS signs them
 * (SignatureVersion 2, a certificate made for the run), its operation made on the main thread
 * (`inline`) or on the worker threads of a WorkerPool (`workers`, the pool's `checkSignature`, as
 * the service does with workers), alternating in one process. Ten checks start per event-loop
 * turn (a receive's worth of messages), at most 30 outstanding (the consumer's default). Measured
 * per notification: the main thread's CPU time (its own task in /proc), the process's, and the
 * rate. Node.js 22.12 or later (the workers' sockets use dgram `reusePort`):
 *
 *   npx -y -p node@22 node --import tsx bench/worker-signature-probe.ts [--entries 10] [--size 64] [--workers 2] [--notifications 20000] [--rounds 4]
 */
import { performance } from 'node:perf_hooks';
import { positiveIntegerOption } from './lib/cli-option';
import { BENCH_TOPIC_ARN } from './lib/gateway-kit';
import { BENCH_SIGNING_CERT_URL, sourcedBodies } from './lib/memory-queue';
import { startProbeWorkerPool } from './lib/probe-worker-pool';
import { median } from './lib/stats';
import { mainThreadCpuUs, processCpuUs } from './lib/thread-cpu';
import { SnsCertificateStore } from '../service/sourcing/sns-certificates';
import { SnsMessageVerifier } from '../service/sourcing/sns-message-verifier';
import type { SignedSnsEnvelope } from '../service/sourcing/sns-signature';
import { FakeCertificateHost, makeSigningIdentity, signEnvelope } from '../test/service/sourcing/sns-signing';

const PER_TURN = 10;
const OUTSTANDING = 30;

async function main(): Promise<void> {
  const entries = positiveIntegerOption('entries', 10);
  const size = positiveIntegerOption('size', 64);
  const workers = positiveIntegerOption('workers', 2);
  const notifications = positiveIntegerOption('notifications', 20_000);
  const rounds = positiveIntegerOption('rounds', 4);
  const identity = makeSigningIdentity();
  const envelopes = sourcedBodies({ topicArn: BENCH_TOPIC_ARN, size, packets: entries, address: '192.0.2.7', port: 4000 })
    .map((body) => signEnvelope(JSON.parse(body) as Record<string, unknown>, identity, BENCH_SIGNING_CERT_URL, '2') as SignedSnsEnvelope);
  const { pool, close } = await startProbeWorkerPool(workers, []);
  try {
    const certificates = (): SnsCertificateStore => new SnsCertificateStore({
      fetcher: new FakeCertificateHost().serve(BENCH_SIGNING_CERT_URL, identity.certificatePem).fetcher,
    });
    const verifiers = {
      inline: new SnsMessageVerifier(certificates()),
      workers: new SnsMessageVerifier(certificates(), { check: pool.checkSignature }),
    };

    const round = async (verifier: SnsMessageVerifier): Promise<{ mainUs: number; processUs: number; rate: number }> => {
      let started = 0;
      let settled = 0;
      let refused = 0;
      const mainBefore = mainThreadCpuUs();
      const processBefore = processCpuUs();
      const at = performance.now();
      await new Promise<void>((resolve) => {
        // a turn starts up to PER_TURN checks; with OUTSTANDING in progress, the next turn waits for a verdict (no spinning)
        let scheduled = false;
        const schedule = (): void => {
          if (scheduled || started >= notifications || started - settled >= OUTSTANDING) return;
          scheduled = true;
          setImmediate(turn);
        };
        const settle = (verdict: { verdict: string }): void => {
          settled++;
          if (verdict.verdict !== 'authentic') refused++;
          if (settled === notifications) resolve();
          else schedule();
        };
        const turn = (): void => {
          scheduled = false;
          for (let k = 0; k < PER_TURN && started < notifications && started - settled < OUTSTANDING; k++) {
            void verifier.verify(envelopes[started++ % envelopes.length]).then(settle);
          }
          schedule();
        };
        turn();
      });
      if (refused > 0) throw new Error(`${refused} of ${notifications} authentic notifications were refused`);
      return {
        mainUs: (mainThreadCpuUs() - mainBefore) / notifications,
        processUs: (processCpuUs() - processBefore) / notifications,
        rate: notifications / ((performance.now() - at) / 1000),
      };
    };

    const results: Record<keyof typeof verifiers, Array<{ mainUs: number; processUs: number; rate: number }>> = { inline: [], workers: [] };
    await round(verifiers.inline); // warm-up, certificates fetched
    await round(verifiers.workers);
    for (let i = 0; i < rounds; i++) {
      const order: Array<keyof typeof verifiers> = i % 2 === 0 ? ['inline', 'workers'] : ['workers', 'inline'];
      for (const where of order) results[where].push(await round(verifiers[where]));
    }
    const summary = (list: Array<{ mainUs: number; processUs: number; rate: number }>): object => ({
      mainThreadUsPerNotification: Number(median(list.map((r) => r.mainUs)).toFixed(1)),
      processUsPerNotification: Number(median(list.map((r) => r.processUs)).toFixed(1)),
      notificationsPerSecond: Math.round(median(list.map((r) => r.rate))),
      rounds: list.map((r) => ({ main: Number(r.mainUs.toFixed(1)), process: Number(r.processUs.toFixed(1)), rate: Math.round(r.rate) })),
    });
    console.log(JSON.stringify({
      node: process.version,
      entries,
      size,
      threads: workers,
      notifications,
      inline: summary(results.inline),
      onWorkers: summary(results.workers),
    }));
  } finally {
    await close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
