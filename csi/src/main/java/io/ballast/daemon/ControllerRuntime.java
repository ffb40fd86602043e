package io.ballast.daemon;

import io.ballast.cluster.CatalogClusterBackend;
import io.ballast.cluster.NodeAdminClients;
import io.ballast.cluster.RepairLoop;
import io.ballast.csi.controller.ControllerService;
import io.ballast.csi.identity.BallastVersion;
import io.ballast.csi.identity.IdentityService;
import io.ballast.csi.server.CsiServer;
import io.ballast.metrics.ControllerMetrics;
import io.ballast.metrics.MetricsEndpoint;
import io.ballast.replication.catalog.CatalogClient;
import io.ballast.replication.tls.RaftTls;
import io.ballast.replication.tls.TlsDir;
import io.ballast.replication.tls.TlsMaterial;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root of {@code ballast controller}: catalog clients, the catalog-backed CSI
 * backend, the repair loop, and the CSI server (Identity + Controller) on a unix socket.
 * {@link #close()} stops them in reverse order.
 */
public final class ControllerRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControllerRuntime.class);
    private final CatalogClient catalog;
    private final CatalogClient probe;
    private final NodeAdminClients admins;
    private final CatalogClusterBackend backend;
    private final RepairLoop repair;
    private final CsiServer server;
    private final MetricsEndpoint metrics;

    /** What a controller needs: the catalog, the CSI endpoint, and when nodes count as down or lost. */
    public record Config(String clusterId, Map<String, String> catalogMembers, String csiEndpoint,
            Duration downAfter, Duration repairAfter, Duration repairInterval, InetSocketAddress metricsListen,
            Path tlsDir) {

        public Config(String clusterId, Map<String, String> catalogMembers, String csiEndpoint, Duration downAfter,
                Duration repairAfter, Duration repairInterval) {
            this(clusterId, catalogMembers, csiEndpoint, downAfter, repairAfter, repairInterval, null, null);
        }
    }

    private ControllerRuntime(Config c) {
        TlsMaterial tls = c.tlsDir() == null ? null : TlsMaterial.of(TlsDir.of(c.tlsDir()), c.clusterId());
        if (tls == null) {
            LOG.warn("the controller talks to the catalog and the nodes in PLAINTEXT (give --tls-dir with the cluster's certificates)");
        }
        catalog = new CatalogClient(c.clusterId(), c.catalogMembers(), Duration.ofSeconds(20), RaftTls.of(tls));
        probe = new CatalogClient(c.clusterId(), c.catalogMembers(), Duration.ofMillis(500), RaftTls.of(tls));
        admins = new NodeAdminClients(tls);
        backend = new CatalogClusterBackend(catalog, probe, admins, c.downAfter(), System::currentTimeMillis);
        repair = new RepairLoop(backend, catalog, admins, c.repairAfter(), c.repairInterval());
        PrometheusRegistry registry = new PrometheusRegistry();
        server = CsiServer.start(c.csiEndpoint(), List.of(
                new IdentityService(BallastVersion.version(), backend::ready), new ControllerService(backend, c.clusterId())), registry);
        ControllerMetrics.register(registry, () -> backend, repair.repaired(), repair.failed());
        metrics = c.metricsListen() == null ? null : MetricsEndpoint.start(c.metricsListen(), registry, tls);
        repair.start();
    }

    public static ControllerRuntime start(Config config) {
        return new ControllerRuntime(config);
    }

    public Path socket() {
        return server.socket();
    }

    public CatalogClusterBackend backend() {
        return backend;
    }

    @Override
    public void close() {
        if (metrics != null) {
            metrics.close();
        }
        repair.close();
        server.close();
        admins.close();
        catalog.close();
        probe.close();
    }
}
