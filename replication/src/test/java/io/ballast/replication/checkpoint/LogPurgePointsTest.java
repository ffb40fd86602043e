package io.ballast.replication.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LogPurgePointsTest {
    @Test
    void keepsAtMostTheTailInBytesWhateverTheEntrySizes() {
        LogPurgePoints p = new LogPurgePoints();
        long mib = 1 << 20;
        for (long i = 1; i <= 100; i++) { // 100 entries of 1 MiB
            p.applied(i, mib);
        }
        // Keep 10 MiB: entries 91..100 stay, so purge up to 90.
        assertEquals(90, p.purgeIndex(100, 10 * mib));
        for (long i = 101; i <= 200; i++) { // then small entries, 4 KiB each: a point per 64 KiB
            p.applied(i, 4096);
        }
        long purge = p.purgeIndex(200, 200 * 1024);
        long kept = (200 - purge) * 4096;
        assertTrue(kept <= 200 * 1024 && kept > 200 * 1024 - LogPurgePoints.STEP, "kept " + kept);
    }

    @Test
    void unknownWhenTheCheckpointIsNotTheLastAppliedAndEverythingWhenNothingIsKept() {
        LogPurgePoints p = new LogPurgePoints();
        assertEquals(-1, p.purgeIndex(5, 0));
        for (long i = 10; i <= 20; i++) {
            p.applied(i, 1000);
        }
        assertEquals(-1, p.purgeIndex(19, 0));
        assertEquals(20, p.purgeIndex(20, 0));
        // Everything applied fits: only the entries from before this process (below 21) go.
        p.applied(21, 10);
        assertEquals(20, p.purgeIndex(21, 1 << 20));
    }
}
