package io.ballast.daemon;

import java.util.function.Consumer;

/**
 * Where the environment says a node is cordoned (in Kubernetes: the Node's
 * {@code spec.unschedulable}, set by {@code kubectl cordon} and {@code kubectl drain}).
 */
public interface NodeCordonSource {
    /**
     * Tells {@code cordoned} the node's state now and at every change (and again now and then:
     * a consumer must take a repeat calmly), until the returned handle is closed.
     */
    AutoCloseable watchCordon(String nodeId, Consumer<Boolean> cordoned);
}
