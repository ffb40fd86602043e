package io.ballast.engine.store;

import java.time.Instant;
import java.util.Objects;

/**
 * Who a data directory belongs to, as recorded in its cookie ({@link NodeCookieLayout}).
 *
 * @param clusterId     the cluster the node joined
 * @param nodeId        the node within that cluster
 * @param formatVersion the on-disk format version of the directory
 * @param createdAt     when the directory was formatted
 */
public record NodeIdentity(String clusterId, String nodeId, int formatVersion, Instant createdAt) {
    public NodeIdentity {
        Objects.requireNonNull(clusterId);
        Objects.requireNonNull(nodeId);
        Objects.requireNonNull(createdAt);
    }
}
