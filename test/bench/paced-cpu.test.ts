import { pacedCpuCells, pacedCpuFigures, pacedCpuTrials, Trial } from '../../bench/lib/throughput';

function flood(...rates: number[]): Trial[] {
  return rates.map((rate) => ({ sent: 1000, received: 1000, rate, offeredRate: rate, loss: 0, spanMs: 1000 }));
}

function paced(rate: number, cpuUsPerPacket: number, loss = 0): Trial {
  return { sent: 1000, received: Math.round(1000 * (1 - loss)), rate, offeredRate: rate, loss, spanMs: 1000, cpuUsPerPacket };
}

describe('CPU time per packet below saturation', () => {
  it('paces every side at half the slowest side\'s median flood rate, in alternating order without warm-ups', async () => {
    const calls: string[] = [];
    const side = (name: string, cpu: number) => async (durationMs: number, rate: number): Promise<Trial> => {
      calls.push(`${name}@${rate}/${durationMs}`);
      return paced(rate, cpu);
    };
    const runs = await pacedCpuTrials(
      4,
      1500,
      // medians: gateway 100k, loop 170k, floor 120k; the gateway is the slowest
      { gateway: flood(90_000, 100_000, 110_000), loop: flood(170_000, 160_000, 180_000), floor: flood(120_000, 119_000, 125_000) },
      { gateway: side('gateway', 8), loop: side('loop', 6), floor: side('floor', 7) },
    );
    expect(runs?.rate).toBe(50_000);
    expect(calls).toEqual([
      'loop@50000/1500', 'floor@50000/1500', 'gateway@50000/1500',
      'gateway@50000/1500', 'floor@50000/1500', 'loop@50000/1500',
      'loop@50000/1500', 'floor@50000/1500', 'gateway@50000/1500',
      'gateway@50000/1500', 'floor@50000/1500', 'loop@50000/1500',
    ]);
    expect(runs?.gateway).toHaveLength(4);
    expect(runs?.loop).toHaveLength(4);
    expect(runs?.floor).toHaveLength(4);
  });

  it('runs nothing when a side has no flood rate', async () => {
    const never = async (): Promise<Trial> => {
      throw new Error('no trial should run');
    };
    const floods = { gateway: flood(NaN), loop: flood(170_000), floor: flood(120_000) };
    const none = await pacedCpuTrials(3, 1500, floods, { gateway: never, loop: never, floor: never });
    expect(none).toBeUndefined();
    expect(pacedCpuFigures('ingress', 64, none)).toEqual({});
    expect(pacedCpuCells('ingress', 64, {})).toEqual(['—', '—', '—', '—', '—', '—', '—']);
  });

  it('gives the medians, the ratios to the gateway and the highest loss of any side', () => {
    const figures = pacedCpuFigures('sourcedPlain', 1200, {
      rate: 50_000,
      gateway: [paced(50_000, 10), paced(50_000, 12), paced(50_000, 11)],
      loop: [paced(50_000, 5.5), paced(50_000, 5.4), paced(50_000, 9)],
      floor: [paced(50_000, 9.9), paced(50_000, 9.8), paced(50_000, 9.7, 0.02)],
    });
    expect(figures).toEqual({
      sourcedPlainPacedCpuUs1200: 11,
      sourcedPlainPacedFloorCpuUs1200: 9.8,
      sourcedPlainPacedLoopCpuUs1200: 5.5,
      sourcedPlainPacedCpuVsFloor1200: 9.8 / 11,
      sourcedPlainPacedCpuVsDgram1200: 5.5 / 11,
      sourcedPlainPacedRate1200: 50_000,
      sourcedPlainPacedLoss1200: 0.02,
    });
    expect(pacedCpuCells('sourcedPlain', 1200, figures)).toEqual(['50.0k/s', '11.00 µs', '9.80 µs', '5.50 µs', '0.89×', '0.50×', '2.00 %']);
  });
});
