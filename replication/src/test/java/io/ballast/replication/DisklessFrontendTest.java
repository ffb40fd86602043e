package io.ballast.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.ratis.RatisErrors;
import io.ballast.replication.testing.Await;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A frontend on a node without a replica (diskless): every read is a query to the group's leader
 * through the handle's Ratis client, over four in-process nodes (replicas on the first three).
 */
class DisklessFrontendTest {
    private static final String VOL = "remote";
    private static final long SIZE = 4L << 20;
    private static final int B = 4096;

    @TempDir
    Path tmp;
    @AutoClose
    TestCluster cluster;
    @AutoClose
    ReplicatedBlockVolume handle;

    /**
     * Ratis can close a client for good (its ordered window, after a leadership change under load);
     * every later request on it fails at once. Writes replaced such a client, reads did not: a
     * frontend only read from answered every read with EIO after the 25 s retry budget (seen as a
     * failed DisklessFrontendIT in a clean-clone run: a read after fio's last write got an error,
     * and it was not the fence's). Reads now replace the client too.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void readsGoOnAfterRatisClosedTheHandlesClient() throws Exception {
        cluster = new TestCluster(tmp, 4, 100_000);
        cluster.nodes[0].createReplicaGroup(VOL, SIZE, cluster.peers(0, 1, 2));
        RaftGroup group = cluster.nodes[0].division(VOL).getGroup();
        List<RaftClient> made = new CopyOnWriteArrayList<>();
        handle = new ReplicatedBlockVolume(VOL, () -> {
            RaftClient c = cluster.nodes[3].newClient(group);
            made.add(c);
            return c;
        }, 1, cluster.nodes[3].config());
        handle.attach();
        byte[] data = new byte[64 << 10];
        new Random(7).nextBytes(data);
        Await.result(handle.write(0, ByteBuffer.wrap(data), false));
        assertArrayEquals(data, read(data.length));

        made.get(0).close(); // what Ratis's own close of a broken ordered window leaves
        assertArrayEquals(data, read(data.length), "read after the client was closed");
        assertEquals(2, made.size(), "the closed client was replaced once");
        assertArrayEquals(data, read(data.length), "and the next read uses the new one");
        assertEquals(2, made.size());
    }

    /**
     * Reads that arrive together leave in a few queries of many reads (QueryBursts): 512 concurrent
     * 4 KiB reads of random blocks each get their own block's bytes. A block bad on every replica
     * fails only its own read, not the others of its query (they are asked again alone). Once the
     * volume is attached elsewhere, a burst fails whole, fenced, with no data.
     */
    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void aBurstOfReadsGetsEachItsOwnBytesOnlyABadBlockFailsAndAFencedBurstGetsNothing() throws Exception {
        cluster = new TestCluster(tmp, 4, 100_000);
        cluster.nodes[0].createReplicaGroup(VOL, SIZE, cluster.peers(0, 1, 2));
        handle = cluster.nodes[3].openRemoteVolume(VOL, cluster.peers(0, 1, 2), 1);
        int blocks = (int) (SIZE / B);
        byte[] data = new byte[(int) SIZE];
        new Random(11).nextBytes(data);
        Await.result(handle.write(0, ByteBuffer.wrap(data), false));
        cluster.assertReplicasIdentical(VOL, 0, 1, 2);

        Random pick = new Random(12);
        List<Integer> order = new ArrayList<>();
        List<CompletableFuture<Void>> reads = new ArrayList<>();
        List<ByteBuffer> bufs = new ArrayList<>();
        for (int i = 0; i < 512; i++) {
            int block = pick.nextInt(blocks);
            ByteBuffer dst = ByteBuffer.allocate(B);
            order.add(block);
            bufs.add(dst);
            reads.add(handle.read((long) block * B, dst));
        }
        for (int i = 0; i < reads.size(); i++) {
            Await.result(reads.get(i));
            assertArrayEquals(Arrays.copyOfRange(data, order.get(i) * B, (order.get(i) + 1) * B), bufs.get(i).array(),
                    "read " + i + " of block " + order.get(i));
        }

        for (int node = 0; node < 3; node++) {
            cluster.rotBlock(node, VOL, 7);
        }
        List<CompletableFuture<Void>> mixed = new ArrayList<>();
        for (int block = 0; block < 16; block++) {
            mixed.add(handle.read((long) block * B, ByteBuffer.allocate(B)));
        }
        for (int block = 0; block < 16; block++) {
            if (block == 7) {
                BallastException bad = assertThrows(BallastException.class, () -> Await.result(mixed.get(7)));
                assertEquals(ErrorCode.CORRUPTION, bad.code(), bad.toString());
            } else {
                Await.result(mixed.get(block)); // the others of its query got their bytes
            }
        }

        try (ReplicatedBlockVolume other = cluster.nodes[0].openVolume(VOL, 2)) {
            List<CompletableFuture<Void>> fenced = new ArrayList<>();
            for (int block = 8; block < 40; block++) {
                fenced.add(handle.read((long) block * B, ByteBuffer.allocate(B)));
            }
            for (CompletableFuture<Void> f : fenced) {
                BallastException e = assertThrows(BallastException.class, () -> Await.result(f));
                assertEquals(ErrorCode.FAILED_PRECONDITION, e.code(), e.toString());
            }
            assertTrue(handle.fenced());
        }
    }

    /**
     * A query the leader refuses comes back as the reply's refusal, with its code, and the client's
     * ordered stream goes on: before, a refusal failed the call, the client asked again for 5 s, and
     * then failed every later request on that stream ("SlidingWindow ... is closed").
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aRefusedQueryIsAnAnswerAndTheClientGoesOn() throws Exception {
        cluster = new TestCluster(tmp, 3, 100_000);
        handle = cluster.createVolume(VOL, SIZE); // attached: writer epoch 1
        RaftGroup group = cluster.nodes[0].division(VOL).getGroup();
        try (RaftClient c = cluster.nodes[0].newClient(group)) {
            long epoch = 1;
            assertEquals(ErrorCode.INVALID_ARGUMENT, refusal(c, VolumeLogLayout.queryReads(epoch, new long[] {0, 8L << 20, 0, B}, 2)));
            assertEquals(ErrorCode.INVALID_ARGUMENT, refusal(c, VolumeLogLayout.queryReads(0, new long[] {0, B, B, B}, 2)),
                    "several reads without an epoch");
            assertEquals(ErrorCode.OUT_OF_RANGE, refusal(c, VolumeLogLayout.queryReads(epoch, new long[] {0, B, SIZE, B}, 2)));
            assertEquals(ErrorCode.FAILED_PRECONDITION, refusal(c, VolumeLogLayout.queryReads(epoch + 5, new long[] {0, B, B, B}, 2)));
            RaftClientReply ok = c.async().sendReadOnly(Message.valueOf(UnsafeByteOperations.unsafeWrap(
                    VolumeLogLayout.queryReads(epoch, new long[] {0, B, B, B}, 2)))).get(10, TimeUnit.SECONDS);
            assertTrue(ok.isSuccess(), "the same client after four refusals: " + ok);
            assertEquals(2 * B, ok.getMessage().getContent().size());
        }
    }

    private static ErrorCode refusal(RaftClient c, ByteBuffer query) throws Exception {
        try {
            RaftClientReply r = c.async().sendReadOnly(Message.valueOf(UnsafeByteOperations.unsafeWrap(query)))
                    .get(10, TimeUnit.SECONDS);
            return RatisErrors.of(r, "query").code();
        } catch (java.util.concurrent.ExecutionException e) {
            return RatisErrors.map(e.getCause(), "query").code();
        }
    }

    private byte[] read(int length) throws Exception {
        ByteBuffer dst = ByteBuffer.allocate(length);
        Await.result(handle.read(0, dst));
        return dst.array();
    }
}
