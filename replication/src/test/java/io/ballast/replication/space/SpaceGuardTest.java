package io.ballast.replication.space;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Who refuses a write: the leader's own full disk, or a full majority; never a full minority. */
class SpaceGuardTest {
    @TempDir
    Path dir;
    private final AtomicLong now = new AtomicLong(1_000_000);

    /** A real reading of the temp directory's filesystem, whose level the watermarks decide. */
    private DiskSpace disk(double full) {
        DiskSpace d = new DiskSpace(List.of(dir), new DiskWatermarks(full, full));
        d.poll();
        return d;
    }

    private SpaceGuard guard(boolean localFull) {
        // No disk here is 0.0001% used or less, and none is 99.9999% used (the build would have failed).
        return new SpaceGuard("n1", disk(localFull ? 0.000001 : 0.999999), now::get);
    }

    @Test
    void aFullMinorityOfFollowersDoesNotRefuse() {
        SpaceGuard g = guard(false);
        g.peersFull(List.of("n2"));
        assertNull(g.refusal(List.of("n1", "n2", "n3")));
        g.peersFull(List.of("n2", "n3"));
        assertNull(g.refusal(List.of("n1", "n2", "n3", "n4", "n5")), "2 of 5 is a minority");
    }

    @Test
    void aFullMajorityRefusesNamingTheNodes() {
        SpaceGuard g = guard(false);
        g.peersFull(List.of("n3", "n2", "n9"));
        SpaceGuard.Refusal no = g.refusal(List.of("n1", "n2", "n3"));
        assertNotNull(no);
        assertFalse(no.moveLeadership(), "nowhere to move to");
        assertTrue(no.why().contains("n3") && no.why().contains("n2") && !no.why().contains("n9"), no.why());
        assertTrue(no.why().contains("majority of the volume's 3 replicas"), no.why());
        assertTrue(g.roomyPeers(List.of("n1", "n2", "n3")).isEmpty());
    }

    @Test
    void aFullLeaderWithRoomyFollowersWaitsForTheLeadershipToMove() {
        SpaceGuard g = guard(true);
        g.peersFull(List.of("n3"));
        List<String> five = List.of("n1", "n2", "n3", "n4", "n5");
        SpaceGuard.Refusal no = g.refusal(five);
        assertNotNull(no);
        assertTrue(no.moveLeadership(), "2 of 5 full: the other 3 can carry the volume");
        assertTrue(no.why().contains("node n1, which leads the volume"), no.why());
        assertEquals(List.of("n2", "n4", "n5"), g.roomyPeers(five));
    }

    @Test
    void aFullLeaderPlusOneFullFollowerOfThreeIsAFullMajority() {
        SpaceGuard g = guard(true);
        assertTrue(g.anyFull());
        g.peersFull(List.of("n2"));
        SpaceGuard.Refusal no = g.refusal(List.of("n1", "n2", "n3"));
        assertFalse(no.moveLeadership());
        assertTrue(no.why().contains("n1, n2"), no.why());
        SpaceGuard single = guard(true);
        assertFalse(single.refusal(List.of("n1")).moveLeadership(), "a single replica has nowhere to go");
    }

    @Test
    void theCatalogsWordOnOthersExpires() {
        SpaceGuard g = guard(false);
        g.peersFull(List.of("n2", "n3"));
        assertNotNull(g.refusal(List.of("n1", "n2", "n3")));
        assertTrue(g.anyFull());
        now.addAndGet(SpaceGuard.PEERS_VALID_MILLIS + 1);
        assertFalse(g.anyFull(), "the fast path agrees with refusal");
        assertNull(g.refusal(List.of("n1", "n2", "n3")), "an old answer must not keep refusing writes");
        g.peersFull(List.of());
        assertNull(g.refusal(List.of("n1", "n2", "n3")));
    }

    @Test
    void thisNodeInTheCatalogsListDoesNotCountTwice() {
        SpaceGuard g = guard(false);
        g.peersFull(List.of("n1", "n2"));
        assertNull(g.refusal(List.of("n1", "n2", "n3")), "this node's own disk is read locally, and it is not full");
    }

    @Test
    void watermarksAreCheckedAndLevelled() {
        assertThrows(IllegalArgumentException.class, () -> new DiskWatermarks(0.9, 0.8));
        assertThrows(IllegalArgumentException.class, () -> new DiskWatermarks(0.5, 1.0));
        assertThrows(IllegalArgumentException.class, () -> new DiskWatermarks(0, 0.5));
        DiskWatermarks w = DiskWatermarks.DEFAULT;
        assertEquals(DiskLevel.NORMAL, w.level(0.5));
        assertEquals(DiskLevel.NEARFULL, w.level(0.85));
        assertEquals(DiskLevel.FULL, w.level(0.97));
    }

    @Test
    void aReadingSaysHowFullAndWhere() {
        DiskSpace d = disk(0.999999);
        DiskSpace.Reading r = d.reading();
        assertEquals(DiskLevel.NORMAL, r.level());
        assertTrue(r.describe().contains("% used") && r.describe().contains(dir.toString()), r.describe());
    }
}
