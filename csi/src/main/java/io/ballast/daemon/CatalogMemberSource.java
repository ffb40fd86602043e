package io.ballast.daemon;

import java.util.Map;

/**
 * Where the catalog's members should be, as the environment says (in Kubernetes: the nodes
 * chosen from the API's facts). The catalog's leader moves the group towards this set
 * ({@link CatalogMembershipReconciler}); every node reads it once at start to find the catalog.
 *
 * <p>Errors: {@link io.ballast.engine.error.BallastException} UNAVAILABLE when the source cannot be
 * read now (API server down); an empty map when it can but names no member yet.
 */
public interface CatalogMemberSource extends AutoCloseable {

    /** Node id -> raft host:port of every node that should host the catalog, in a stable order. */
    Map<String, String> members();

    /**
     * The node ids the catalog's leader admits to the cluster by this source's word, beyond the
     * members (which are always admitted): by default none, so an operator admits every other
     * node ({@code ballast node admit}).
     */
    default java.util.Set<String> admissible() {
        return java.util.Set.of();
    }

    /** What this source is, for logs ("Kubernetes nodes of namespace ballast-system"). */
    String describe();

    /** Releases the source's connections; the default holds none. */
    @Override
    default void close() {
    }
}
