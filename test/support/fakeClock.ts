export const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a whole second

/** A clock that moves only when the code under test sleeps, so waits are instant and measurable. */
export function fakeClock(start = T0) {
    let t = start;
    const sleeps: number[] = [];
    return {
        sleeps,
        now: () => t,
        sleep: async (ms: number) => {
            sleeps.push(ms);
            t += ms;
        },
        total: () => sleeps.reduce((a, b) => a + b, 0),
    };
}
