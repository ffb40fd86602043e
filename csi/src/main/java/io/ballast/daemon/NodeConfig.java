package io.ballast.daemon;

import io.ballast.replication.space.DiskWatermarks;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

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
        java.util.Map<String, String> catalogMembers,
        java.util.Map<String, String> labels,
        String csiEndpoint,
        String attach,
        InetSocketAddress metricsListen,
        Path fdKeeper,
        DiskWatermarks diskWatermarks,
        long rebuildBytesPerSecond,
        long logBudgetMin) {

    /** A node without the CSI Node service. */
    public NodeConfig(Path dataDir, String clusterId, String nodeId, Path nbdSocket, InetSocketAddress nbdTcp,
            List<VolumeSpec> volumes, int ioThreads, InetSocketAddress raftListen, InetSocketAddress adminListen,
            java.util.Map<String, String> catalogMembers, java.util.Map<String, String> labels) {
        this(dataDir, clusterId, nodeId, nbdSocket, nbdTcp, volumes, ioThreads, raftListen, adminListen, catalogMembers,
                labels, null, "auto", null, dataDir.resolve("run").resolve("fd-keeper.sock"), DiskWatermarks.DEFAULT,
                io.ballast.replication.ReplicationConfig.REBUILD_BYTES_PER_SECOND_DEFAULT,
                io.ballast.replication.ReplicationConfig.LOG_BUDGET_MIN_DEFAULT);
    }

    /** The same node serving CSI (Identity + Node) on {@code endpoint}. */
    public NodeConfig withCsiEndpoint(String endpoint) {
        return new NodeConfig(dataDir, clusterId, nodeId, nbdSocket, nbdTcp, volumes, ioThreads, raftListen, adminListen,
                catalogMembers, labels, endpoint, attach, metricsListen, fdKeeper, diskWatermarks, rebuildBytesPerSecond, logBudgetMin);
    }

    /** The same node attaching staged volumes the given way ({@code auto}, {@code nbd}, {@code fuse-loop}). */
    public NodeConfig withAttach(String how) {
        return new NodeConfig(dataDir, clusterId, nodeId, nbdSocket, nbdTcp, volumes, ioThreads, raftListen, adminListen,
                catalogMembers, labels, csiEndpoint, how, metricsListen, fdKeeper, diskWatermarks, rebuildBytesPerSecond, logBudgetMin);
    }

    /** The same node serving Prometheus metrics on {@code address} (null: not). */
    public NodeConfig withMetricsListen(InetSocketAddress address) {
        return new NodeConfig(dataDir, clusterId, nodeId, nbdSocket, nbdTcp, volumes, ioThreads, raftListen, adminListen,
                catalogMembers, labels, csiEndpoint, attach, address, fdKeeper, diskWatermarks, rebuildBytesPerSecond, logBudgetMin);
    }

    /** The same node with its descriptor keeper on {@code socket} (null: none). */
    public NodeConfig withFdKeeper(Path socket) {
        return new NodeConfig(dataDir, clusterId, nodeId, nbdSocket, nbdTcp, volumes, ioThreads, raftListen, adminListen,
                catalogMembers, labels, csiEndpoint, attach, metricsListen, socket, diskWatermarks, rebuildBytesPerSecond, logBudgetMin);
    }

    /** The same node with these disk watermarks. */
    public NodeConfig withDiskWatermarks(DiskWatermarks w) {
        return new NodeConfig(dataDir, clusterId, nodeId, nbdSocket, nbdTcp, volumes, ioThreads, raftListen, adminListen,
                catalogMembers, labels, csiEndpoint, attach, metricsListen, fdKeeper, w, rebuildBytesPerSecond, logBudgetMin);
    }

    /** The same node pacing rebuild copies at {@code bytesPerSecond} (0: unpaced). */
    public NodeConfig withRebuildBytesPerSecond(long bytesPerSecond) {
        return new NodeConfig(dataDir, clusterId, nodeId, nbdSocket, nbdTcp, volumes, ioThreads, raftListen, adminListen,
                catalogMembers, labels, csiEndpoint, attach, metricsListen, fdKeeper, diskWatermarks, bytesPerSecond, logBudgetMin);
    }

    /** The same node with replicas' log budgets of at least {@code bytes}. */
    public NodeConfig withLogBudgetMin(long bytes) {
        return new NodeConfig(dataDir, clusterId, nodeId, nbdSocket, nbdTcp, volumes, ioThreads, raftListen, adminListen,
                catalogMembers, labels, csiEndpoint, attach, metricsListen, fdKeeper, diskWatermarks, rebuildBytesPerSecond,
                bytes);
    }

    public NodeConfig {
        if (logBudgetMin < 0) {
            throw new IllegalArgumentException("the log budget must be >= 0, got " + logBudgetMin);
        }
        if (rebuildBytesPerSecond < 0) {
            throw new IllegalArgumentException("the rebuild rate must be >= 0 (0: unpaced), got " + rebuildBytesPerSecond);
        }
        java.util.Objects.requireNonNull(diskWatermarks, "diskWatermarks");
        volumes = List.copyOf(volumes);
        catalogMembers = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(catalogMembers));
        labels = java.util.Map.copyOf(labels);
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
}
