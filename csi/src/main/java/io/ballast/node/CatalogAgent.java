package io.ballast.node;

import io.ballast.engine.error.BallastException;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.replication.catalog.CatalogClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this node's record in the catalog fresh: a heartbeat (addresses, topology labels,
 * capacity and free space of the data directory) every {@link #INTERVAL}. The controller judges a
 * node down when its heartbeat is older than its repair threshold.
 *
 * <p>Threading: one scheduler thread. A failed heartbeat (no catalog quorum yet, e.g. while the
 * members start) is logged once per outage and retried on the next tick; it never stops the node.
 */
public final class CatalogAgent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogAgent.class);
    public static final Duration INTERVAL = Duration.ofSeconds(2);

    private final CatalogClient catalog;
    private final CatalogNode.Builder record;
    private final Path dataDir;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("catalog-heartbeat").factory());
    private volatile boolean failing;

    public CatalogAgent(CatalogClient catalog, String nodeId, String adminAddress, String raftAddress,
            Map<String, String> labels, Path dataDir) {
        this.catalog = catalog;
        this.dataDir = dataDir;
        this.record = CatalogNode.newBuilder().setNodeId(nodeId).setAdminAddress(adminAddress)
                .setRaftAddress(raftAddress).putAllLabels(labels);
    }

    public void start() {
        timer.scheduleWithFixedDelay(this::beat, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void beat() {
        try {
            var store = Files.getFileStore(dataDir);
            CatalogNode n = record.clone().setCapacityBytes(store.getTotalSpace())
                    .setFreeBytes(store.getUsableSpace()).setHeartbeatMillis(System.currentTimeMillis()).build();
            catalog.submit(CatalogCommand.newBuilder().setHeartbeat(n).build());
            if (failing) {
                LOG.info("catalog heartbeat of {} goes through again", n.getNodeId());
                failing = false;
            }
        } catch (BallastException | IOException e) {
            if (!failing) {
                LOG.warn("catalog heartbeat failed (retrying every {} s): {}", INTERVAL.toSeconds(), e.getMessage());
                failing = true;
            }
        } catch (RuntimeException e) {
            LOG.error("catalog heartbeat: unexpected error (retrying)", e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        catalog.close();
    }
}
