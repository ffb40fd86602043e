package io.ballast.replication.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a node's Raft server and of the volume handles it opens. Defaults are lean, sized for
 * small (2-core) machines hosting many groups; {@link io.ballast.replication.RaftNode RaftNode} logs every value at start.
 *
 * @param nodeId               this node's Raft peer id (the storage node id)
 * @param host                 address the gRPC server binds to
 * @param port                 gRPC port (peers, clients and admin share it)
 * @param electionTimeoutMin   leader election timeout, lower bound (failover takes about this + a bit)
 * @param electionTimeoutMax   leader election timeout, upper bound
 * @param rpcRequestTimeout    server-side RPC request timeout
 * @param clientRequestTimeout how long a volume handle's request waits per attempt
 * @param clientRetries        attempts per request before UNAVAILABLE (100 ms apart)
 * @param segmentSizeMax       Raft log segment size (purge works on whole segments)
 * @param snapshotEveryEntries auto-snapshot (checkpoint + log purge) after this many entries
 * @param serverThreads        size of the node's Ratis proxy pool (the per-group pools are cached)
 * @param batchMaxBytes        group commit: largest payload per log entry
 * @param batchMaxOps          group commit: most requests per log entry
 * @param maxInFlight          group commit: log entries in flight per volume handle
 * @param logBudgetMin         the least disk space a volume replica's Raft log and entry journal
 *                             may hold; a volume's budget is this or a tenth of its size ({@link io.ballast.replication.checkpoint.LogBudget LogBudget})
 * @param rebuildBytesPerSecond pace of a rebuild's block copy (0: unpaced), so foreground I/O keeps most of the disk
 */
public record ReplicationConfig(String nodeId, String host, int port, Duration electionTimeoutMin,
        Duration electionTimeoutMax, Duration rpcRequestTimeout, Duration clientRequestTimeout, int clientRetries,
        long segmentSizeMax, long snapshotEveryEntries, int serverThreads, int batchMaxBytes, int batchMaxOps,
        int maxInFlight, long logBudgetMin, long rebuildBytesPerSecond) {

    /**
     * 0.6-1.2 s: leader killed under fio 64k QD8 on 3 local nodes, longest write stall 1.2-2.2 s
     * over four kills, against 2.1-3.1 s with 1-2 s; 30 s of saturating writes (2 cores fully
     * busy) caused no spurious election at 0.6 s. Heartbeats go every min/2.
     */
    public static final Duration ELECTION_TIMEOUT_MIN_DEFAULT = Duration.ofMillis(600);
    public static final Duration ELECTION_TIMEOUT_MAX_DEFAULT = Duration.ofMillis(1200);
    public static final Duration RPC_REQUEST_TIMEOUT_DEFAULT = Duration.ofMillis(3000);
    public static final Duration CLIENT_REQUEST_TIMEOUT_DEFAULT = Duration.ofMillis(3000);
    public static final int CLIENT_RETRIES_DEFAULT = 50;
    /**
     * 2 MiB: Ratis caches up to 6 closed segments' entries on the heap (parsed copies), so segment
     * size bounds that memory; with 32 MiB segments a node restarted by ReplicatedFailoverIT ran
     * out of its 512 MiB heap replaying its log. Purge also works on whole segments, and a segment
     * stands for up to {@link io.ballast.replication.entry.VolumeEntryData#REF_FRACTION} times its
     * size in journal data: 2 MiB with references of a 32nd keep that at 64 MiB (8 MiB segments
     * with references of an eighth: 64 MiB too, for 4x the log bytes per large write; A/B in
     * docs/benchmarks.md, issue 15).
     */
    public static final long SEGMENT_SIZE_MAX_DEFAULT = 2L << 20;
    public static final long SNAPSHOT_EVERY_ENTRIES_DEFAULT = 2048;
    public static final int SERVER_THREADS_DEFAULT = 4;
    public static final int BATCH_MAX_BYTES_DEFAULT = (4 << 20) + (64 << 10);
    public static final int BATCH_MAX_OPS_DEFAULT = 64;
    /** Upper bound of batchMaxBytes (one log entry's payload); RaftServerSettings sizes the write and appender buffers from batchMaxBytes. */
    public static final int MAX_ENTRY_BYTES = 8 << 20;
    public static final int MAX_IN_FLIGHT_DEFAULT = 8;
    /**
     * 256 MiB: the design's bound on a replica's log and journal is max(256 MiB, 10% of the volume).
     * It used to be 1,024 entries behind each checkpoint plus 1 GiB between checkpoints whatever the
     * volume: a 2 GiB volume kept ~2.5 GiB of log per replica after a benchmark.
     */
    public static final long LOG_BUDGET_MIN_DEFAULT = 256L << 20;
    /**
     * 128 MiB/s: a rebuild's copy leaves the rest of the disk to foreground I/O (docs/benchmarks.md,
     * "rebuild under load"); an incremental rebuild after a short outage copies little anyway.
     */
    public static final long REBUILD_BYTES_PER_SECOND_DEFAULT = 128L << 20;

    public ReplicationConfig {
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(host, "host");
        if (electionTimeoutMin.compareTo(electionTimeoutMax) > 0) {
            throw new IllegalArgumentException("election timeout min > max");
        }
        if (batchMaxBytes <= 0 || batchMaxBytes > MAX_ENTRY_BYTES || batchMaxOps <= 0 || batchMaxOps > 0xFFFF || maxInFlight <= 0) {
            throw new IllegalArgumentException("bad group-commit limits");
        }
    }

    /** Defaults for everything but identity and address. */
    public static ReplicationConfig defaults(String nodeId, String host, int port) {
        return new Builder(nodeId, host, port).build();
    }

    /** A builder holding these settings, to change some of them. */
    public Builder toBuilder() {
        Builder b = new Builder(nodeId, host, port);
        b.electionTimeoutMin = electionTimeoutMin;
        b.electionTimeoutMax = electionTimeoutMax;
        b.rpcRequestTimeout = rpcRequestTimeout;
        b.clientRequestTimeout = clientRequestTimeout;
        b.clientRetries = clientRetries;
        b.segmentSizeMax = segmentSizeMax;
        b.snapshotEveryEntries = snapshotEveryEntries;
        b.serverThreads = serverThreads;
        b.batchMaxBytes = batchMaxBytes;
        b.batchMaxOps = batchMaxOps;
        b.maxInFlight = maxInFlight;
        b.logBudgetMin = logBudgetMin;
        b.rebuildBytesPerSecond = rebuildBytesPerSecond;
        return b;
    }

    public ReplicationConfig withSnapshotEveryEntries(long entries) {
        return toBuilder().snapshotEveryEntries(entries).build();
    }

    public ReplicationConfig withSegmentSizeMax(long bytes) {
        return toBuilder().segmentSizeMax(bytes).build();
    }

    public ReplicationConfig withLogBudgetMin(long bytes) {
        return toBuilder().logBudgetMin(bytes).build();
    }

    public ReplicationConfig withRebuildBytesPerSecond(long bytes) {
        return toBuilder().rebuildBytesPerSecond(bytes).build();
    }

    public String address() {
        return host + ":" + port;
    }

    /** Settings one at a time, starting from the defaults; {@link #build} checks them together. */
    public static final class Builder {
        private final String nodeId;
        private final String host;
        private final int port;
        private Duration electionTimeoutMin = ELECTION_TIMEOUT_MIN_DEFAULT;
        private Duration electionTimeoutMax = ELECTION_TIMEOUT_MAX_DEFAULT;
        private Duration rpcRequestTimeout = RPC_REQUEST_TIMEOUT_DEFAULT;
        private Duration clientRequestTimeout = CLIENT_REQUEST_TIMEOUT_DEFAULT;
        private int clientRetries = CLIENT_RETRIES_DEFAULT;
        private long segmentSizeMax = SEGMENT_SIZE_MAX_DEFAULT;
        private long snapshotEveryEntries = SNAPSHOT_EVERY_ENTRIES_DEFAULT;
        private int serverThreads = SERVER_THREADS_DEFAULT;
        private int batchMaxBytes = BATCH_MAX_BYTES_DEFAULT;
        private int batchMaxOps = BATCH_MAX_OPS_DEFAULT;
        private int maxInFlight = MAX_IN_FLIGHT_DEFAULT;
        private long logBudgetMin = LOG_BUDGET_MIN_DEFAULT;
        private long rebuildBytesPerSecond = REBUILD_BYTES_PER_SECOND_DEFAULT;

        public Builder(String nodeId, String host, int port) {
            this.nodeId = nodeId;
            this.host = host;
            this.port = port;
        }

        public Builder electionTimeoutMin(Duration value) {
            this.electionTimeoutMin = value;
            return this;
        }

        public Builder electionTimeoutMax(Duration value) {
            this.electionTimeoutMax = value;
            return this;
        }

        public Builder rpcRequestTimeout(Duration value) {
            this.rpcRequestTimeout = value;
            return this;
        }

        public Builder clientRequestTimeout(Duration value) {
            this.clientRequestTimeout = value;
            return this;
        }

        public Builder clientRetries(int value) {
            this.clientRetries = value;
            return this;
        }

        public Builder segmentSizeMax(long value) {
            this.segmentSizeMax = value;
            return this;
        }

        public Builder snapshotEveryEntries(long value) {
            this.snapshotEveryEntries = value;
            return this;
        }

        public Builder serverThreads(int value) {
            this.serverThreads = value;
            return this;
        }

        public Builder batchMaxBytes(int value) {
            this.batchMaxBytes = value;
            return this;
        }

        public Builder batchMaxOps(int value) {
            this.batchMaxOps = value;
            return this;
        }

        public Builder maxInFlight(int value) {
            this.maxInFlight = value;
            return this;
        }

        public Builder logBudgetMin(long value) {
            this.logBudgetMin = value;
            return this;
        }

        public Builder rebuildBytesPerSecond(long value) {
            this.rebuildBytesPerSecond = value;
            return this;
        }

        public ReplicationConfig build() {
            return new ReplicationConfig(nodeId, host, port, electionTimeoutMin, electionTimeoutMax, rpcRequestTimeout, clientRequestTimeout, clientRetries, segmentSizeMax, snapshotEveryEntries, serverThreads, batchMaxBytes, batchMaxOps, maxInFlight, logBudgetMin, rebuildBytesPerSecond);
        }
    }
}
