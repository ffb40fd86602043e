package io.ballast.replication;

import io.ballast.engine.store.NodeDirectory;
import io.ballast.replication.config.ReplicationConfig;
import io.ballast.replication.space.DiskWatermarks;
import io.ballast.replication.tls.RaftTls;
import io.ballast.replication.testing.Await;
import io.ballast.replication.testing.FreePorts;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/** In-process cluster of Raft nodes on 127.0.0.1 (ephemeral ports), with stop/restart/wipe verbs. */
public final class TestCluster implements AutoCloseable {
    final Path root;
    final ReplicationConfig[] configs;
    final NodeDirectory[] dirs;
    public final RaftNode[] nodes;
    private final java.util.function.IntFunction<RaftTls> tls;

    public TestCluster(Path root, int n, long snapshotEveryEntries) throws IOException {
        this(root, n, snapshotEveryEntries, c -> c);
    }

    public TestCluster(Path root, int n, long snapshotEveryEntries, java.util.function.UnaryOperator<ReplicationConfig> tune)
            throws IOException {
        this(root, n, snapshotEveryEntries, tune, i -> RaftTls.PLAINTEXT);
    }

    /** As above, node {@code i} talking {@code tls.apply(i)} (mutual TLS or plaintext). */
    public TestCluster(Path root, int n, long snapshotEveryEntries, java.util.function.UnaryOperator<ReplicationConfig> tune,
            java.util.function.IntFunction<RaftTls> tls) throws IOException {
        this.root = root;
        this.tls = tls;
        configs = new ReplicationConfig[n];
        dirs = new NodeDirectory[n];
        nodes = new RaftNode[n];
        for (int i = 0; i < n; i++) {
            configs[i] = ReplicationConfig.defaults("n" + i, "127.0.0.1", FreePorts.next())
                    .withSnapshotEveryEntries(snapshotEveryEntries).withSegmentSizeMax(1 << 20)
                    .withLogBudgetMin(0); // tests of rebuild need the log purged right behind snapshots
            configs[i] = tune.apply(configs[i]);
        }
        for (int i = 0; i < n; i++) {
            start(i);
        }
    }

    public Map<String, String> peers() {
        Map<String, String> m = new LinkedHashMap<>();
        for (ReplicationConfig c : configs) {
            m.put(c.nodeId(), c.address());
        }
        return m;
    }

    /** Node id -> address of the given nodes only. */
    public Map<String, String> peers(int... ids) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i : ids) {
            m.put(configs[i].nodeId(), configs[i].address());
        }
        return m;
    }

    public void start(int i) {
        dirs[i] = NodeDirectory.openOrFormat(root.resolve("node" + i), "test-cluster", configs[i].nodeId());
        nodes[i] = RaftNode.start(configs[i], dirs[i], DiskWatermarks.DEFAULT, tls.apply(i));
    }

    public void stop(int i) {
        if (nodes[i] != null) {
            nodes[i].close();
            dirs[i].close();
            nodes[i] = null;
            dirs[i] = null;
        }
    }

    /** Creates volume {@code name} with a replica on every node and attaches it on its leader (writer epoch 1). */
    public io.ballast.replication.frontend.ReplicatedBlockVolume createVolume(String name, long size) {
        nodes[0].createReplicaGroup(name, size, peers());
        return nodes[leader(name)].openVolume(name, 1);
    }

    /**
     * Flips bits {@code mask} of byte {@code offset} of file {@code path} (relative to node i's data
     * directory) on disk, as rot would: what the checksums must catch.
     */
    public void flipBits(int i, String path, long offset, int mask) throws IOException {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(root.resolve("node" + i).resolve(path).toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ mask);
        }
    }

    /** Rots block {@code block} of node i's replica of {@code volume} (one bit of one byte). */
    public void rotBlock(int i, String volume, long block) throws IOException {
        flipBits(i, "volumes/" + volume + "/data", block * 4096 + 99, 0x08);
    }

    /** Stops node i and deletes its whole data directory (disk loss). */
    public void wipe(int i) throws IOException {
        stop(i);
        try (Stream<Path> s = Files.walk(root.resolve("node" + i))) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    public int leader(String volume) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < nodes.length; i++) {
                if (nodes[i] != null) {
                    try {
                        if ("LEADER".equals(nodes[i].status(volume).role())) {
                            return i;
                        }
                    } catch (RuntimeException e) {
                        // not there (yet)
                    }
                }
            }
            Await.pause(50);
        }
        throw new AssertionError("no leader for " + volume);
    }

    /** Waits until every running replica has applied what node {@code ref} has committed. */
    public void awaitConverged(String volume) {
        int ref = leader(volume);
        long target = nodes[ref].status(volume).commitIndex();
        for (int i = 0; i < nodes.length; i++) {
            int n = i;
            if (nodes[n] != null) {
                Await.await(() -> nodes[n].status(volume).appliedIndex() >= target, "node " + n + " applies " + target);
            }
        }
    }

    /**
     * Waits until every running replica of {@code volume} applied what the leader committed, then
     * checks each store's checksums and that all hold the same bytes.
     */
    public void assertReplicasIdentical(String volume) {
        assertReplicasIdentical(volume, java.util.stream.IntStream.range(0, nodes.length).filter(i -> nodes[i] != null).toArray());
    }

    /** As {@link #assertReplicasIdentical(String)}, for the replicas on nodes {@code ids} (the group's members). */
    public void assertReplicasIdentical(String volume, int... ids) {
        int leader = leader(volume);
        long target = nodes[leader].status(volume).commitIndex();
        byte[] ref = null;
        for (int i : ids) {
            Await.await(() -> nodes[i].status(volume).appliedIndex() >= target, "node " + i + " applies " + target);
            var bad = nodes[i].stateMachine(volume).store().verify();
            if (!bad.isEmpty()) {
                throw new AssertionError("checksums on node " + i + " fail for " + bad);
            }
            byte[] c = content(i, volume);
            if (ref == null) {
                ref = c;
            } else if (!java.util.Arrays.equals(ref, c)) {
                throw new AssertionError("node " + i + "'s replica of " + volume + " differs from node " + ids[0] + "'s");
            }
        }
    }

    public byte[] content(int i, String volume) {
        var store = nodes[i].stateMachine(volume).store();
        ByteBuffer b = ByteBuffer.allocate((int) store.size());
        store.read(0, b);
        return b.array();
    }

    @Override
    public void close() {
        for (int i = 0; i < nodes.length; i++) {
            stop(i);
        }
    }
}
