package io.ballast.replication.rebuild;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The pacer on a clock of the test's own: its sleeps advance the clock, so what is checked is how
 * long the pacer would make a copy take, not how long this machine took.
 */
class RatePacerTest {
    private static final long MIB = 1 << 20;
    private static final long SECOND = 1_000_000_000L;

    private final AtomicLong clock = new AtomicLong(5 * SECOND);
    private final List<Long> sleeps = new ArrayList<>();

    private RatePacer pacer(long bytesPerSecond) {
        return new RatePacer(bytesPerSecond, clock::get, nanos -> {
            synchronized (sleeps) {
                sleeps.add(nanos);
            }
            clock.addAndGet(nanos);
        });
    }

    @Test
    void noLimitNeverSleeps() throws InterruptedException {
        RatePacer unpaced = pacer(0);
        for (int i = 0; i < 1000; i++) {
            unpaced.take(64 * MIB);
        }
        assertTrue(sleeps.isEmpty(), "slept " + sleeps);
    }

    @Test
    void aSustainedCopyTakesItsBytesOverTheRateAfterTheFirstSecondsWorth() throws InterruptedException {
        RatePacer paced = pacer(MIB);
        long start = clock.get();
        for (int i = 0; i < 40; i++) {
            paced.take(MIB / 4);
        }
        // 10 MiB at 1 MiB/s: the first second's worth goes at once, the other 9 MiB take 9 s.
        assertEquals(9.0, (clock.get() - start) / 1e9, 0.001);
    }

    @Test
    void anIdleSpellIsNotSavedUpForABurst() throws InterruptedException {
        RatePacer paced = pacer(MIB);
        paced.take(MIB); // the first second's worth
        clock.addAndGet(60 * SECOND); // idle for a minute: the bucket holds one second again, not 60
        long start = clock.get();
        paced.take(3 * MIB);
        assertEquals(2.0, (clock.get() - start) / 1e9, 0.001);
    }

    @Test
    void threadsSharingOnePacerKeepTheirSumToTheRate() throws Exception {
        RatePacer paced = pacer(2 * MIB);
        long start = clock.get();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < 32; i++) {
                        paced.take(64 << 10);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        for (Thread w : workers) {
            w.join();
        }
        // 4 x 32 x 64 KiB = 8 MiB at 2 MiB/s, the first 2 MiB at once: 3 s on the pacer's clock.
        assertEquals(3.0, (clock.get() - start) / 1e9, 0.001);
    }
}
