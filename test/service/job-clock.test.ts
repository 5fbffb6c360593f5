/**
 * Clock readings shared by one synchronous job (service/job-clock.ts).
 */
import { JobClock, monotonicClockOfJob, wallClockOfJob } from '../../service/job-clock';

test('the clock is read once per job: later readings in the job get the first one, the next job reads it again', async () => {
  let time = 1_000;
  let reads = 0;
  const clock = new JobClock(() => {
    reads++;
    return time;
  });
  expect(clock.now()).toBe(1_000);
  time = 2_000;
  for (let i = 0; i < 100; i++) expect(clock.now()).toBe(1_000);
  expect(reads).toBe(1);
  await Promise.resolve();
  expect(clock.now()).toBe(2_000);
  expect(reads).toBe(2);
  // a job started by a timer reads it again too
  time = 3_000;
  await new Promise((resolve) => setTimeout(resolve, 1));
  expect(clock.now()).toBe(3_000);
  expect(reads).toBe(3);
});

test('the wall and monotonic clocks of a job are Date.now and performance.now as first read in it', async () => {
  await Promise.resolve();
  const wallBefore = Date.now();
  const monotonicBefore = performance.now();
  const wall = wallClockOfJob.now();
  const monotonic = monotonicClockOfJob.now();
  expect(wall).toBeGreaterThanOrEqual(wallBefore);
  expect(wall).toBeLessThanOrEqual(Date.now());
  expect(monotonic).toBeGreaterThanOrEqual(monotonicBefore);
  expect(monotonic).toBeLessThanOrEqual(performance.now());
});
