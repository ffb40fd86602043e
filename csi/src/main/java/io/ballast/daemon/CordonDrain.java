package io.ballast.daemon;

import io.ballast.engine.error.BallastException;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogReply;
import io.ballast.proto.v1.NodeDrain;
import io.ballast.proto.v1.SetDrain;
import io.ballast.replication.catalog.CatalogClient;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drains this node while the environment has it cordoned: {@code kubectl cordon} (and the first
 * step of {@code kubectl drain}) moves its replicas' leaderships to other nodes and keeps new
 * replicas off it, as {@code ballast node drain} does; {@code kubectl uncordon} lifts it. The
 * catalog keeps an operator's mode first: a cordon never changes a node an operator drained or
 * evacuates, and an uncordon lifts only the cordon's drain ({@code SetDrain.cordon}). Not an
 * evacuation: a cordon says "maintenance soon", not "gone for good".
 *
 * <p>Threading: the source calls {@link #accept} on its own thread; catalog requests run one at a
 * time on this class's thread, so a slow catalog never holds up the watch.
 */
public final class CordonDrain implements Consumer<Boolean>, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CordonDrain.class);

    private final CatalogClient catalog;
    private final String nodeId;
    private final ExecutorService thread;
    /** The state the catalog last accepted, or null (not yet, or the last request failed). */
    private Boolean settled;
    private AutoCloseable watch;

    private CordonDrain(CatalogClient catalog, String nodeId) {
        this.catalog = catalog;
        this.nodeId = nodeId;
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "cordon-drain");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts following {@code source}'s cordon of {@code nodeId}; closing stops it and the catalog client. */
    public static CordonDrain start(NodeCordonSource source, CatalogClient catalog, String nodeId) {
        CordonDrain d = new CordonDrain(catalog, nodeId);
        d.watch = source.watchCordon(nodeId, d);
        return d;
    }

    @Override
    public void accept(Boolean cordoned) {
        thread.execute(() -> settle(cordoned));
    }

    /** Asks the catalog for the drain a cordon (or uncordon) means, unless it already took that state. */
    private void settle(boolean cordoned) {
        if (Boolean.valueOf(cordoned).equals(settled)) {
            return; // a repeat (the watch's periodic resync)
        }
        NodeDrain mode = cordoned ? NodeDrain.NODE_DRAIN_LEADERS : NodeDrain.NODE_DRAIN_NONE;
        try {
            CatalogReply r = catalog.submit(CatalogCommand.newBuilder().setSetDrain(SetDrain.newBuilder()
                    .setNodeId(nodeId).setDrain(mode).setCordon(true)).build());
            settled = cordoned;
            if (!r.getExisted()) {
                LOG.info("node {} {}: {}", nodeId, cordoned ? "cordoned" : "uncordoned", cordoned
                        ? "drained (leaderships move to other replicas, no new replica is placed here)"
                        : "the drain the cordon set is lifted");
            } else if (cordoned) {
                LOG.info("node {} cordoned: it was drained already, its maintenance mode stays as it is", nodeId);
            }
        } catch (BallastException e) {
            settled = null; // the watch's next resync asks again
            LOG.warn("node {} {}, but the catalog did not take the drain (asked again at the next resync): {}", nodeId,
                    cordoned ? "cordoned" : "uncordoned", e.getMessage());
        }
    }

    @Override
    public void close() throws Exception {
        try {
            if (watch != null) {
                watch.close();
            }
        } finally {
            thread.shutdownNow();
            thread.awaitTermination(5, TimeUnit.SECONDS);
            catalog.close();
        }
    }
}
