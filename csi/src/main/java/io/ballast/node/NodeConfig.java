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
 */
public record NodeConfig(
        Path dataDir,
        String clusterId,
        String nodeId,
        Path nbdSocket,
        InetSocketAddress nbdTcp,
        List<VolumeSpec> volumes,
        int ioThreads) {

    public NodeConfig {
        volumes = List.copyOf(volumes);
        if (ioThreads < 1) {
            throw new IllegalArgumentException("ioThreads must be >= 1, got " + ioThreads);
        }
    }
}
