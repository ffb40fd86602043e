package io.ballast.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.SnapshotReader;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.snapshot.CloneOrigin;
import io.ballast.replication.snapshot.SnapshotStatus;
import io.ballast.replication.testing.Await;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SNAPSHOT / DELETE_SNAPSHOT entries, clone origins and volume deletion over a 3-node in-process cluster. */
class SnapshotReplicationTest {
    private static final int B = 4096;
    private static final long SIZE = 8L << 20;

    @TempDir
    Path tmp;
    @AutoClose
    TestCluster cluster;

    private ReplicatedBlockVolume create(String name) throws Exception {
        cluster = new TestCluster(tmp, 3, 100_000);
        return cluster.createVolume(name, SIZE);
    }

    private static byte[] pattern(long seed, int len) {
        byte[] b = new byte[len];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static void await(CompletableFuture<?> f) throws Exception {
        f.get(30, TimeUnit.SECONDS);
    }

    /** What {@code node}'s copy holds, read as it is on disk (a bad block fails, nothing repairs it). */
    private byte[] snapshotContent(int node, String volume, String id) {
        try (SnapshotReader r = cluster.nodes[node].stateMachine(volume).node().snapshots().open(volume, id)) {
            return readAll(r);
        }
    }

    private static byte[] readAll(SnapshotReader r) {
        ByteBuffer b = ByteBuffer.allocate((int) r.size());
        r.read(0, b);
        return b.array();
    }

    private void awaitListed(int node, String volume, String id) {
        Await.await(() -> cluster.nodes[node].snapshots().get(volume, id).map(SnapshotStatus::complete).orElse(false),
                "node " + node + " holds " + id);
    }

    @Test
    void everyReplicaHoldsThePointInTimeAndARestartDoesNotRetakeIt() throws Exception {
        ReplicatedBlockVolume v = create("vol");
        byte[] a = pattern(1, 64 * B);
        await(v.write(B, ByteBuffer.wrap(a), false));
        byte[] expected = new byte[(int) SIZE];
        System.arraycopy(a, 0, expected, B, a.length);

        int asker = (cluster.leader("vol") + 1) % 3; // a follower handles the call
        GroupSnapshots.Created c = cluster.nodes[asker].snapshots().create("vol", "s1");
        assertTrue(c.created());
        assertTrue(c.snapshot().complete(), c.toString());
        assertEquals(SIZE, c.snapshot().sizeBytes());
        GroupSnapshots.Created again = cluster.nodes[(asker + 1) % 3].snapshots().create("vol", "s1");
        assertFalse(again.created(), "idempotent");
        assertEquals(c.snapshot().logIndex(), again.snapshot().logIndex());

        await(v.write(B, ByteBuffer.wrap(pattern(2, 64 * B)), false)); // B over A, after the snapshot
        await(v.write(SIZE - B, ByteBuffer.wrap(pattern(3, B)), false));
        for (int i = 0; i < 3; i++) {
            awaitListed(i, "vol", "s1");
            assertArrayEquals(expected, snapshotContent(i, "vol", "s1"), "node " + i + " holds A, not B");
        }

        int f = (cluster.leader("vol") + 1) % 3;
        cluster.stop(f);
        cluster.start(f);
        cluster.awaitConverged("vol");
        SnapshotStatus after = cluster.nodes[f].snapshots().get("vol", "s1").orElseThrow();
        assertTrue(after.complete());
        assertEquals(c.snapshot().logIndex(), after.logIndex());
        assertArrayEquals(expected, snapshotContent(f, "vol", "s1"));
        v.close();
    }

    @Test
    void anInterruptedCopyIsRedoneOnReplayFromTheStateAtItsIndex() throws Exception {
        ReplicatedBlockVolume v = create("vol");
        byte[] a = pattern(4, 16 * B);
        await(v.write(0, ByteBuffer.wrap(a), false));
        long index = cluster.nodes[0].snapshots().create("vol", "s1").snapshot().logIndex();
        int f = (cluster.leader("vol") + 1) % 3;
        awaitListed(f, "vol", "s1");
        cluster.stop(f);
        // What a kill -9 in the middle of the copy leaves on f: no COMPLETE record, a partial data
        // file, and no Raft snapshot at the SNAPSHOT's index (the restart replays the log up to it).
        Path node = tmp.resolve("node" + f);
        Path snap = node.resolve("snapshots/vol/s1");
        Files.delete(snap.resolve("snapshot.meta"));
        Files.write(snap.resolve("data"), new byte[B]);
        try (Stream<Path> s = Files.walk(node.resolve("raft"))) {
            for (Path p : s.filter(p -> p.getFileName().toString().matches("snapshot\\.\\d+_\\d+")).toList()) {
                Files.delete(p);
            }
        }
        cluster.start(f);
        cluster.awaitConverged("vol");
        awaitListed(f, "vol", "s1");
        SnapshotStatus redone = cluster.nodes[f].snapshots().get("vol", "s1").orElseThrow();
        assertEquals(index, redone.logIndex());
        byte[] expected = new byte[(int) SIZE];
        System.arraycopy(a, 0, expected, 0, a.length);
        assertArrayEquals(expected, snapshotContent(f, "vol", "s1"));
        v.close();
    }

    /**
     * A replica rebuilt by block copy after a snapshot never applied its entry: it fetches its copy
     * from a peer, which reads back as the snapshot's point in time (not the volume now), while a
     * snapshot deleted meanwhile is neither listed nor fetched. Snapshots after the rebuild are
     * taken there as everywhere.
     */
    @Test
    void aReplicaRebuiltByBlockCopyFetchesTheSnapshotCopiesItLacksThenTakesNewOnes() throws Exception {
        ReplicatedBlockVolume v = create("vol");
        await(v.write(0, ByteBuffer.wrap(pattern(5, 8 * B)), false));
        await(v.write(SIZE - 8 * B, ByteBuffer.wrap(pattern(7, 8 * B)), false));
        cluster.nodes[0].snapshots().create("vol", "s1");
        cluster.nodes[0].snapshots().create("vol", "gone");
        int f = (cluster.leader("vol") + 1) % 3;
        cluster.wipe(f);
        cluster.nodes[cluster.leader("vol")].snapshots().delete("vol", "gone");
        await(v.write(0, ByteBuffer.wrap(pattern(6, 8 * B)), false));
        // The leader's copy of s1 has rotted in its first block: asked first, it refuses (CORRUPTION)
        // and the fetch goes on to the third replica.
        int rotten = cluster.leader("vol");
        cluster.flipBits(rotten, "snapshots/vol/s1/data", 100, 0x20);
        cluster.start(f); // an empty disk: re-added as a member that lost its replica, rebuilt by block copy
        cluster.nodes[cluster.leader("vol")].addReplica("vol", cluster.configs[f].nodeId(), cluster.configs[f].address());
        cluster.awaitConverged("vol");
        assertEquals(SIZE, cluster.nodes[f].status("vol").rebuildBytesTotal(), "rebuilt by block copy");

        awaitListed(f, "vol", "s1");
        List<SnapshotStatus> listed = cluster.nodes[f].snapshots().list("vol");
        assertEquals(1, listed.size(), "'gone' was deleted before the rebuild: " + listed);
        assertTrue(listed.get(0).registered() && listed.get(0).complete() && listed.get(0).note().isEmpty(), listed.toString());
        int holder = 3 - f - rotten; // the replica neither rebuilt nor rotten
        assertEquals(cluster.nodes[holder].snapshots().get("vol", "s1").orElseThrow().logIndex(), listed.get(0).logIndex());
        byte[] fetched = snapshotContent(f, "vol", "s1");
        assertArrayEquals(snapshotContent(holder, "vol", "s1"), fetched);
        assertArrayEquals(pattern(5, 8 * B), java.util.Arrays.copyOfRange(fetched, 0, 8 * B), "the point in time, not the volume now");
        assertEquals(1, cluster.nodes[f].stateMachine("vol").snapshotCopies.fetched.get());
        try (var files = Files.list(tmp.resolve("node" + f + "/snapshots/vol"))) {
            assertEquals(List.of("s1"), files.map(p -> p.getFileName().toString()).toList(), "no staging left behind");
        }

        cluster.nodes[f].snapshots().create("vol", "s2"); // after the fence: taken on f too
        for (int i = 0; i < 3; i++) {
            awaitListed(i, "vol", "s2");
        }
        assertArrayEquals(snapshotContent(0, "vol", "s2"), snapshotContent(f, "vol", "s2"));
        v.close();
    }

    /**
     * A follower's copy of a snapshot rots in one block: the follower's scrub finds it and rewrites
     * it from a peer's copy (the volume itself has moved on since; the snapshot's index names the
     * bytes), so the copy reads back whole again.
     */
    @Test
    void aScrubRepairsARottenBlockOfASnapshotCopyFromAPeersCopy() throws Exception {
        ReplicatedBlockVolume v = create("vol");
        await(v.write(0, ByteBuffer.wrap(pattern(3, 16 * B)), false));
        cluster.nodes[0].snapshots().create("vol", "s1");
        await(v.write(0, ByteBuffer.wrap(pattern(4, 16 * B)), false)); // the volume moves on
        cluster.awaitConverged("vol");
        int f = (cluster.leader("vol") + 1) % 3;
        awaitListed(f, "vol", "s1");
        cluster.flipBits(f, "snapshots/vol/s1/data", 9L * B + 5, 0x04);
        BallastException rotten = assertThrows(BallastException.class, () -> snapshotContent(f, "vol", "s1"));
        assertEquals(ErrorCode.CORRUPTION, rotten.code());

        await(cluster.nodes[f].scrub("vol"));
        byte[] expected = new byte[(int) SIZE];
        System.arraycopy(pattern(3, 16 * B), 0, expected, 0, 16 * B);
        assertArrayEquals(expected, snapshotContent(f, "vol", "s1"), "the snapshot's bytes, not the volume's now");
        assertEquals(1, cluster.nodes[f].stateMachine("vol").scrub.record().lastCorrupt(), "found by the scrub");
        v.close();
    }

    /**
     * A clone's fill and a backup read a snapshot through {@link GroupSnapshots#open}: a block of the
     * local copy that fails its checksum is repaired from a peer's copy and read again, so the reader
     * gets the snapshot's bytes instead of failing on one rotten block while two good copies exist
     * (before, it failed until the next scrub repaired the copy). A block bad on every copy still
     * fails the read, as CORRUPTION, never as data.
     */
    @Test
    void aReaderOfASnapshotGetsARottenBlockRepairedFromAPeerAndOnlyABlockBadEverywhereFails() throws Exception {
        ReplicatedBlockVolume v = create("vol");
        byte[] data = pattern(8, 16 * B);
        await(v.write(0, ByteBuffer.wrap(data), false));
        cluster.nodes[0].snapshots().create("vol", "s1");
        await(v.write(0, ByteBuffer.wrap(pattern(9, 16 * B)), false)); // the volume moves on
        cluster.awaitConverged("vol");
        int f = (cluster.leader("vol") + 1) % 3;
        awaitListed(f, "vol", "s1");
        byte[] expected = new byte[(int) SIZE];
        System.arraycopy(data, 0, expected, 0, data.length);
        cluster.flipBits(f, "snapshots/vol/s1/data", 3L * B + 17, 0x10);
        cluster.flipBits(f, "snapshots/vol/s1/data", 12L * B, 0x01);
        assertEquals(ErrorCode.CORRUPTION, assertThrows(BallastException.class, () -> snapshotContent(f, "vol", "s1")).code());

        try (SnapshotReader r = cluster.nodes[f].snapshots().open("vol", "s1", "test")) {
            assertArrayEquals(expected, readAll(r), "the snapshot's bytes through the repairing reader");
            assertEquals(2, r.checksumFailures(), "both bad blocks were seen");
        }
        assertArrayEquals(expected, snapshotContent(f, "vol", "s1"), "repaired on disk, not only in the reply");

        for (int i = 0; i < 3; i++) {
            cluster.flipBits(i, "snapshots/vol/s1/data", 5L * B, 0x02);
        }
        try (SnapshotReader r = cluster.nodes[f].snapshots().open("vol", "s1", "test")) {
            ByteBuffer dst = ByteBuffer.allocate(8 * B);
            BallastException bad = assertThrows(BallastException.class, () -> r.read(0, dst));
            assertEquals(ErrorCode.CORRUPTION, bad.code(), bad.toString());
            assertTrue(bad.getMessage().contains("block 5 "), bad.getMessage());
        }
        v.close();
    }

    @Test
    void deleteSnapshotCloneOriginAndReplicaDeletion() throws Exception {
        ReplicatedBlockVolume v = create("vol");
        GroupSnapshots snaps = cluster.nodes[1].snapshots();
        snaps.create("vol", "s1");
        assertEquals(ErrorCode.INVALID_ARGUMENT, assertThrows(BallastException.class, () -> snaps.create("vol", "bad/id")).code());
        assertEquals(ErrorCode.NOT_FOUND, assertThrows(BallastException.class, () -> snaps.create("nosuch", "s1")).code());
        assertEquals(ErrorCode.NOT_FOUND, assertThrows(BallastException.class, () -> snaps.open("vol", "s9", "test")).code());

        cluster.nodes[0].createReplicaGroup("clone", SIZE, cluster.peers(), "vol@s1");
        cluster.awaitConverged("clone");
        assertEquals(new CloneOrigin("vol@s1", false), cluster.nodes[2].snapshots().origin("clone").orElseThrow());
        BallastException wrong = assertThrows(BallastException.class, () -> snaps.markFilled("clone", "vol@other"));
        assertEquals(ErrorCode.FAILED_PRECONDITION, wrong.code());
        snaps.markFilled("clone", "vol@s1");
        assertEquals(new CloneOrigin("vol@s1", true), snaps.origin("clone").orElseThrow());
        assertTrue(snaps.origin("vol").isEmpty());

        snaps.delete("vol", "s1");
        snaps.delete("vol", "s1"); // idempotent
        cluster.awaitConverged("vol");
        for (int i = 0; i < 3; i++) {
            assertEquals(List.of(), cluster.nodes[i].snapshots().list("vol"));
            assertFalse(Files.exists(tmp.resolve("node" + i + "/snapshots/vol/s1")));
        }

        snaps.create("vol", "s2");
        v.close();
        for (int i = 0; i < 3; i++) { // deleting a replica deletes its snapshots (as the controller deletes a volume)
            cluster.nodes[i].removeGroup("vol");
            assertFalse(cluster.nodes[i].groups().contains("vol"));
            assertFalse(Files.exists(tmp.resolve("node" + i + "/volumes/vol")));
            assertFalse(Files.exists(tmp.resolve("node" + i + "/snapshots/vol")), "its snapshots went with it");
        }
    }
}
