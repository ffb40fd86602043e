package io.ballast.node;

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
        InetSocketAddress adminListen) {

    public NodeConfig {
        volumes = List.copyOf(volumes);
        if (ioThreads < 1) {
            throw new IllegalArgumentException("ioThreads must be >= 1, got " + ioThreads);
        }
        if (adminListen != null && raftListen == null) {
            throw new IllegalArgumentException("the admin API manages replicated volumes: give --raft-listen too");
        }
    }
}
