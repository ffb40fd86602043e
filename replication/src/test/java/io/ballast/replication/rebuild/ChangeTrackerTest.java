package io.ballast.replication.rebuild;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a restarted replica's store stands, for an incremental rebuild: the clean-stop mark's rules. */
class ChangeTrackerTest {
    @TempDir
    Path dir;

    private ChangeTracker restarted(long stoppedAt) throws Exception {
        CleanStopMark.write(dir.resolve("clean-stop"), stoppedAt);
        ChangeTracker t = new ChangeTracker(() -> "n3");
        t.open(dir);
        t.load(64L << 20, 0); // no checkpoint yet
        return t;
    }

    /**
     * Found by IncrementalRebuildIT with a 120 s outage: the restarted follower had applied its
     * group's first configuration entry (index 0) before the leader asked for a rebuild, and the
     * old rule (nothing applied since the start) then threw the mark away: a full copy.
     */
    @Test
    void appliesThatWriteNoBlockKeepTheMark() throws Exception {
        ChangeTracker t = restarted(226);
        assertEquals(226, t.storeIndex(-1));
        assertEquals(226, t.storeIndex(0), "a configuration entry applied: the store still holds index 226");
        assertTrue(Files.exists(dir.resolve("clean-stop")));
    }

    @Test
    void theFirstStoreWriteDropsTheMarkOnDiskAndInMemory() throws Exception {
        ChangeTracker t = restarted(226);
        t.forApply(64L << 20, 1); // a replay from the checkpoint rewrites regions with older values
        assertFalse(Files.exists(dir.resolve("clean-stop")), "a crash from here must not find the mark");
        assertEquals(1, t.storeIndex(1));
    }

    @Test
    void aCopyDropsTheMarkOnDiskButItsIndexStaysForARetry() throws Exception {
        ChangeTracker t = restarted(226);
        t.copyStarting();
        assertFalse(Files.exists(dir.resolve("clean-stop")));
        assertEquals(226, t.storeIndex(0), "a failed copy only wrote newer regions: asking from 226 again is right");
    }

    @Test
    void aReplicaReopenedInTheSameProcessStillFindsTheMark() throws Exception {
        restarted(226).storeIndex(0);
        ChangeTracker reopened = new ChangeTracker(() -> "n3");
        reopened.open(dir);
        reopened.load(64L << 20, 0);
        assertEquals(226, reopened.storeIndex(0));
    }
}
