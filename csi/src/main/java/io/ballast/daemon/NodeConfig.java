package io.ballast.daemon;

import io.ballast.replication.config.ReplicationConfig;
import io.ballast.replication.rebuild.ScrubSchedule;
import io.ballast.replication.space.DiskWatermarks;
import io.ballast.replication.tls.RaftTls;
import io.ballast.replication.tls.TlsMaterial;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Everything a node process needs to start.
 *
 * @param clusterId null = take the recorded one, or make a new one when formatting
 * @param nodeId null = take the recorded one, or the host name when formatting
 * @param nbdTcp null = no TCP listener
 * @param raftListen null = no replication: volumes are local stores only
 * @param adminListen null = no admin gRPC API (needs replication)
 * @param catalogMembers the cluster catalog's members (node id -> raft host:port); empty = no
 *     catalog. A node in the list hosts a catalog replica; every node heartbeats to it
 * @param labels topology labels recorded in the catalog (e.g. zone=a)
 * @param csiEndpoint {@code unix:///path} to serve the CSI Identity + Node services on; null = none
 * @param attach how staged volumes become block devices: {@code auto}, {@code nbd}, {@code fuse-loop}
 * @param metricsListen where to serve Prometheus metrics; null = nowhere
 * @param fdKeeper the descriptor keeper's socket, which holds FUSE connections across restarts of
 *     this process (one is started there when none answers); null = no keeper
 * @param diskWatermarks the nearfull and full ratios of the data disk (writes refused above full)
 * @param rebuildBytesPerSecond the pace of a replica rebuild's copy (0: unpaced)
 * @param logBudgetMin the least space a replica's Raft log and entry journal may take (a volume's
 *     budget is this or a tenth of its size)
 * @param keyDir where the CSI Node service keeps the passphrases of staged encrypted volumes for
 *     its restarts (meant to be tmpfs); null = DIR/run/keys
 * @param leaderHomingDelay how long the leadership of a volume attached here may stay on another
 *     node before it is moved back here ({@link io.ballast.volumes.LeaderHoming}); zero = never
 * @param scrub how often each replica here is scrubbed without being asked, and at what pace
 *     ({@link ScrubSchedule}); null = {@link ScrubSchedule.Policy#DEFAULT}
 */
public record NodeConfig(
        Path dataDir,
        String clusterId,
        String nodeId,
        Path nbdSocket,
        InetSocketAddress nbdTcp,
        List<VolumeSpec> volumes,
        int ioThreads,
        InetSocketAddress raftListen,
        InetSocketAddress adminListen,
        Map<String, String> catalogMembers,
        Map<String, String> labels,
        String csiEndpoint,
        String attach,
        InetSocketAddress metricsListen,
        Path fdKeeper,
        DiskWatermarks diskWatermarks,
        long rebuildBytesPerSecond,
        long logBudgetMin,
        TlsMaterial tls,
        Path keyDir,
        Duration leaderHomingDelay,
        ScrubSchedule.Policy scrub) {

    /** A node without the CSI Node service. */
    public NodeConfig(Path dataDir, String clusterId, String nodeId, Path nbdSocket, InetSocketAddress nbdTcp,
            List<VolumeSpec> volumes, int ioThreads, InetSocketAddress raftListen, InetSocketAddress adminListen,
            Map<String, String> catalogMembers, Map<String, String> labels) {
        this(dataDir, clusterId, nodeId, nbdSocket, nbdTcp, volumes, ioThreads, raftListen, adminListen, catalogMembers,
                labels, null, "auto", null, dataDir.resolve("run").resolve("fd-keeper.sock"), DiskWatermarks.DEFAULT,
                ReplicationConfig.REBUILD_BYTES_PER_SECOND_DEFAULT, ReplicationConfig.LOG_BUDGET_MIN_DEFAULT, null, null,
                LEADER_HOMING_DELAY_DEFAULT, ScrubSchedule.Policy.DEFAULT);
    }

    /** The default of {@link #leaderHomingDelay}: long enough for an operator's move to be looked at. */
    public static final Duration LEADER_HOMING_DELAY_DEFAULT = Duration.ofSeconds(30);

    /** How this node's Raft server and clients talk: mutual TLS with {@link #tls()}, or plaintext. */
    public RaftTls raftTls() {
        return RaftTls.of(tls());
    }

    /** The same node serving CSI (Identity + Node) on {@code endpoint}. */
    public NodeConfig withCsiEndpoint(String endpoint) {
        return toBuilder().csiEndpoint(endpoint).build();
    }

    /** The same node attaching staged volumes the given way ({@code auto}, {@code nbd}, {@code fuse-loop}). */
    public NodeConfig withAttach(String how) {
        return toBuilder().attach(how).build();
    }

    /** The same node serving Prometheus metrics on {@code address} (null: not). */
    public NodeConfig withMetricsListen(InetSocketAddress address) {
        return toBuilder().metricsListen(address).build();
    }

    /** The same node with its descriptor keeper on {@code socket} (null: none). */
    public NodeConfig withFdKeeper(Path socket) {
        return toBuilder().fdKeeper(socket).build();
    }

    /** The same node with these disk watermarks. */
    public NodeConfig withDiskWatermarks(DiskWatermarks w) {
        return toBuilder().diskWatermarks(w).build();
    }

    /** The same node pacing rebuild copies at {@code bytesPerSecond} (0: unpaced). */
    public NodeConfig withRebuildBytesPerSecond(long bytesPerSecond) {
        return toBuilder().rebuildBytesPerSecond(bytesPerSecond).build();
    }

    /** The same node with replicas' log budgets of at least {@code bytes}. */
    public NodeConfig withLogBudgetMin(long bytes) {
        return toBuilder().logBudgetMin(bytes).build();
    }

    /** A builder holding this node's settings, to change some of them. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.dataDir = dataDir;
        b.clusterId = clusterId;
        b.nodeId = nodeId;
        b.nbdSocket = nbdSocket;
        b.nbdTcp = nbdTcp;
        b.volumes = volumes;
        b.ioThreads = ioThreads;
        b.raftListen = raftListen;
        b.adminListen = adminListen;
        b.catalogMembers = catalogMembers;
        b.labels = labels;
        b.csiEndpoint = csiEndpoint;
        b.attach = attach;
        b.metricsListen = metricsListen;
        b.fdKeeper = fdKeeper;
        b.diskWatermarks = diskWatermarks;
        b.rebuildBytesPerSecond = rebuildBytesPerSecond;
        b.logBudgetMin = logBudgetMin;
        b.tls = tls;
        b.keyDir = keyDir;
        b.leaderHomingDelay = leaderHomingDelay;
        b.scrub = scrub;
        return b;
    }

    public NodeConfig {
        if (logBudgetMin < 0) {
            throw new IllegalArgumentException("the log budget must be >= 0, got " + logBudgetMin);
        }
        if (rebuildBytesPerSecond < 0) {
            throw new IllegalArgumentException("the rebuild rate must be >= 0 (0: unpaced), got " + rebuildBytesPerSecond);
        }
        java.util.Objects.requireNonNull(diskWatermarks, "diskWatermarks");
        if (leaderHomingDelay == null) {
            leaderHomingDelay = LEADER_HOMING_DELAY_DEFAULT;
        }
        if (leaderHomingDelay.isNegative()) {
            throw new IllegalArgumentException("the leader homing delay must be >= 0 (0: never), got " + leaderHomingDelay);
        }
        if (scrub == null) {
            scrub = ScrubSchedule.Policy.DEFAULT;
        }
        if (keyDir == null) {
            keyDir = dataDir.resolve("run").resolve("keys");
        }
        volumes = List.copyOf(volumes);
        catalogMembers = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(catalogMembers));
        labels = Map.copyOf(labels);
        if (!catalogMembers.isEmpty() && adminListen == null) {
            throw new IllegalArgumentException("a node in a catalog needs --admin-listen (the controller reaches it there)");
        }
        if (csiEndpoint != null && raftListen == null) {
            throw new IllegalArgumentException("the CSI Node service serves replicated volumes: give --raft-listen too");
        }
        if (ioThreads < 1) {
            throw new IllegalArgumentException("ioThreads must be >= 1, got " + ioThreads);
        }
        if (adminListen != null && raftListen == null) {
            throw new IllegalArgumentException("the admin API manages replicated volumes: give --raft-listen too");
        }
    }

    /**
     * The settings one by one (setters for the optional ones; the required ones come from the
     * record's constructor or {@link #toBuilder}); {@link #build} checks them together.
     */
    public static final class Builder {
        private Path dataDir;
        private String clusterId;
        private String nodeId;
        private Path nbdSocket;
        private InetSocketAddress nbdTcp;
        private List<VolumeSpec> volumes;
        private int ioThreads;
        private InetSocketAddress raftListen;
        private InetSocketAddress adminListen;
        private Map<String, String> catalogMembers;
        private Map<String, String> labels;
        private String csiEndpoint;
        private String attach;
        private InetSocketAddress metricsListen;
        private Path fdKeeper;
        private DiskWatermarks diskWatermarks;
        private long rebuildBytesPerSecond;
        private long logBudgetMin;
        private TlsMaterial tls;
        private Path keyDir;
        private Duration leaderHomingDelay;
        private ScrubSchedule.Policy scrub;

        private Builder() {
        }

        public Builder csiEndpoint(String endpoint) {
            csiEndpoint = endpoint;
            return this;
        }

        public Builder attach(String how) {
            attach = how;
            return this;
        }

        public Builder metricsListen(InetSocketAddress address) {
            metricsListen = address;
            return this;
        }

        public Builder fdKeeper(Path socket) {
            fdKeeper = socket;
            return this;
        }

        public Builder diskWatermarks(DiskWatermarks w) {
            diskWatermarks = w;
            return this;
        }

        public Builder rebuildBytesPerSecond(long bytesPerSecond) {
            rebuildBytesPerSecond = bytesPerSecond;
            return this;
        }

        public Builder logBudgetMin(long bytes) {
            logBudgetMin = bytes;
            return this;
        }

        /** Mutual TLS with these certificates on the raft and admin ports (null: plaintext). */
        public Builder tls(TlsMaterial material) {
            tls = material;
            return this;
        }

        /** Where staged encrypted volumes' passphrases are kept for restarts (null: DIR/run/keys). */
        public Builder keyDir(Path dir) {
            keyDir = dir;
            return this;
        }

        /** How long leadership may stay away from a volume attached here (zero: it is never moved back). */
        public Builder leaderHomingDelay(Duration delay) {
            leaderHomingDelay = delay;
            return this;
        }

        /** How often replicas here are scrubbed on their own, and at what pace. */
        public Builder scrub(ScrubSchedule.Policy policy) {
            scrub = policy;
            return this;
        }

        public NodeConfig build() {
            return new NodeConfig(dataDir, clusterId, nodeId, nbdSocket, nbdTcp, volumes, ioThreads, raftListen, adminListen,
                    catalogMembers, labels, csiEndpoint, attach, metricsListen, fdKeeper, diskWatermarks,
                    rebuildBytesPerSecond, logBudgetMin, tls, keyDir, leaderHomingDelay, scrub);
        }
    }
}
