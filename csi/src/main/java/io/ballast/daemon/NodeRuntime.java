package io.ballast.daemon;

import io.ballast.admin.NodeAdminService;
import io.ballast.csi.identity.BallastVersion;
import io.ballast.csi.identity.IdentityService;
import io.ballast.csi.node.NodeService;
import io.ballast.csi.node.SystemMounter;
import io.ballast.csi.server.CsiServer;
import io.ballast.engine.attach.DeviceAttachers;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.keeper.FdKeeperClient;
import io.ballast.engine.nbd.MapNbdExports;
import io.ballast.engine.nbd.NbdServer;
import io.ballast.engine.nbd.NbdServerConfig;
import io.ballast.engine.store.LocalBlockStore;
import io.ballast.engine.store.NodeDirectory;
import io.ballast.engine.volume.LocalBlockVolume;
import io.ballast.engine.volume.StoreCheckpointer;
import io.ballast.metrics.MetricsEndpoint;
import io.ballast.metrics.NodeMetrics;
import io.ballast.replication.RaftNode;
import io.ballast.replication.catalog.CatalogClient;
import io.ballast.replication.config.ReplicationConfig;
import io.ballast.replication.rebuild.ScrubSchedule;
import io.ballast.replication.tls.Admission;
import io.ballast.tls.AdminCallers;
import io.ballast.tls.GrpcTls;
import io.ballast.tls.ServerTls;
import io.ballast.volumes.AttachedVolumeDevices;
import io.ballast.volumes.ReplicatedVolumes;
import io.grpc.Server;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root of a {@code ballast node} process. Two modes:
 * <ul>
 *   <li><b>local</b> (no {@code --raft-listen}): every volume of the data directory is a local block
 *       store served over NBD; no replication.</li>
 *   <li><b>replicated</b>: a {@link RaftNode} hosts one Raft group per volume replica; volumes are
 *       created and attached through the admin gRPC API (or {@code --volume}, which creates a
 *       single-replica group here and attaches it); attached volumes are served over NBD.</li>
 * </ul>
 * {@link #close()} shuts down in reverse order so every store is flushed and marked clean.
 */
public final class NodeRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NodeRuntime.class);
    /**
     * How often local stores sync checksums and retire idle dirty regions (bounds recovery scans).
     * Linux md's write-intent bitmap uses 5 s too; 1 s forced writeback during streaming writes
     * (seqwrite 1M fell to 0.89x nbdkit).
     */
    private static final Duration CHECKPOINT_INTERVAL = Duration.ofSeconds(5);
    /** How often the scrub schedule looks for a replica whose scrub is due (the interval is days). */
    private static final Duration SCRUB_CHECK_PERIOD = Duration.ofSeconds(Long.getLong("ballast.scrub.checkSeconds", 60));
    /** How often the catalog leader compares the catalog's members with its member source. */
    private static final Duration CATALOG_RECONCILE_EVERY = Duration.ofSeconds(
            Long.getLong("ballast.catalog.reconcileSeconds", 10));
    /** The admitted node ids as the catalog last said, under the data directory (served before it answers again). */
    private static final String ADMITTED_FILE = "admitted-nodes";
    /**
     * How long a member may be missing from the source before it is replaced: longer than a node
     * plugin's restart (upgrade), shorter than most outages an admin would wait out.
     */
    private static final Duration CATALOG_REMOVE_AFTER = Duration.ofSeconds(
            Long.getLong("ballast.catalog.removeAfterSeconds", 120));

    private final NodeConfig config;
    private final NodeDirectory directory;
    private final List<AutoCloseable> closeables; // in shutdown order
    private final List<String> localExports;
    private final NbdServer nbd;
    private final Server admin;
    private boolean closed;

    private NodeRuntime(NodeConfig config, NodeDirectory directory, List<AutoCloseable> closeables,
            List<String> localExports, NbdServer nbd, Server admin) {
        this.config = config;
        this.directory = directory;
        this.closeables = closeables;
        this.localExports = localExports;
        this.nbd = nbd;
        this.admin = admin;
    }

    /** Opens (or formats) the data directory, starts replication and the listeners. */
    public static NodeRuntime start(NodeConfig config) {
        return start(config, null);
    }

    /**
     * As {@link #start(NodeConfig)}; with a {@code catalogSource}, this node, whenever it leads the
     * catalog, moves the catalog's members towards the ones the source names (the source is
     * closed with the node).
     */
    public static NodeRuntime start(NodeConfig config, CatalogMemberSource catalogSource) {
        // Unset ids mean "whatever the directory records"; a new directory gets a fresh cluster id
        // and the host name as node id. Explicit ids are checked against the cookie.
        var recorded = NodeDirectory.recordedIdentity(config.dataDir());
        String clusterId = config.clusterId() != null ? config.clusterId()
                : recorded.map(i -> i.clusterId()).orElseGet(() -> UUID.randomUUID().toString());
        String nodeId = config.nodeId() != null ? config.nodeId()
                : recorded.map(i -> i.nodeId()).orElseGet(NodeRuntime::hostName);
        NodeDirectory directory = NodeDirectory.openOrFormat(config.dataDir(), clusterId, nodeId);
        LOG.info("data directory {}: cluster {} node {}", config.dataDir(), clusterId, nodeId);
        // With TLS and a catalog, calls are served for operators and admitted nodes only.
        Admission admission = config.tls() == null || config.catalogMembers().isEmpty() ? null
                : Admission.open(config.dataDir().resolve(ADMITTED_FILE), () -> config.catalogMembers().keySet());

        List<AutoCloseable> closeables = new ArrayList<>(); // filled in start order, closed reversed
        try {
            MapNbdExports exports = new MapNbdExports();
            List<String> localExports = new ArrayList<>();
            ReplicatedVolumes replicated = null;
            if (config.raftListen() == null) {
                startLocal(config, directory, exports, localExports, closeables);
            } else {
                replicated = startReplicated(config, directory, exports, closeables, admission);
            }
            NbdServerConfig nbdConfig = NbdServerConfig.unix(config.nbdSocket());
            if (config.nbdTcp() != null) {
                nbdConfig = nbdConfig.withTcp(config.nbdTcp().getHostString(), config.nbdTcp().getPort());
                if (config.tls() != null) {
                    nbdConfig = nbdConfig.withTcpTls(ServerTls.context(config.tls(), "NBD over TCP")); // STARTTLS required of every TCP client
                } else {
                    LOG.warn("NBD on TCP {} is PLAINTEXT: any caller that reaches the port may read and write the volumes "
                            + "exported here (give --tls-dir with the cluster's certificates)", config.nbdTcp());
                }
            }
            NbdServer nbd = new NbdServer(exports, nbdConfig);
            nbd.start();
            closeables.add(nbd);
            if (config.metricsListen() != null) {
                PrometheusRegistry registry = new PrometheusRegistry();
                if (replicated != null) {
                    NodeMetrics.register(registry, replicated, nbd);
                }
                MetricsEndpoint metrics = MetricsEndpoint.start(config.metricsListen(), registry, config.tls());
                closeables.add(metrics);
            }
            Server admin = null;
            if (config.adminListen() != null) {
                // Reads the catalog for GetClusterState (ballast status); short budget: a CLI is waiting.
                CatalogClient catalogReader = config.catalogMembers().isEmpty() ? null
                        : new CatalogClient(directory.identity().clusterId(), config.catalogMembers(), Duration.ofSeconds(5), config.raftTls());
                if (catalogReader != null) {
                    closeables.add(catalogReader);
                }
                admin = GrpcTls.server(config.adminListen(), config.tls(), "the admin API")
                        .addService(new NodeAdminService(replicated, directory.identity(), config.dataDir(),
                                BallastVersion.version(), catalogReader, config.catalogMembers().keySet()))
                        .intercept(new AdminCallers(admission))
                        .build().start();
                Server started = admin;
                closeables.add(() -> started.shutdown().awaitTermination(5, TimeUnit.SECONDS));
                LOG.info("admin API listening on {}", config.adminListen());
            }
            if (replicated != null && !config.catalogMembers().isEmpty()) {
                CatalogMembershipReconciler reconciler = catalogSource == null ? null
                        : new CatalogMembershipReconciler(replicated.raft(), catalogSource, CATALOG_REMOVE_AFTER,
                                java.time.Clock.systemUTC());
                closeables.add(startCatalogAgent(config, directory, replicated, admin, admission,
                        reconciler == null ? Set::of : reconciler::admissible));
                if (catalogSource instanceof NodeCordonSource cordons) {
                    closeables.add(CordonDrain.start(cordons, new CatalogClient(directory.identity().clusterId(),
                            config.catalogMembers(), Duration.ofSeconds(10), config.raftTls()), directory.identity().nodeId()));
                }
                if (reconciler != null) {
                    reconciler.start(CATALOG_RECONCILE_EVERY);
                    closeables.add(reconciler);
                }
            }
            if (replicated != null && config.csiEndpoint() != null) {
                startCsiNode(config, directory, replicated, closeables);
            }
            if (replicated != null) {
                for (VolumeSpec spec : config.volumes()) {
                    replicated.create(spec.name(), spec.sizeBytes(), Map.of());
                    replicated.attach(spec.name());
                }
            }
            return new NodeRuntime(config, directory, closeables, localExports, nbd, admin);
        } catch (IOException | RuntimeException e) {
            closeAll(closeables);
            directory.close();
            if (e instanceof IOException io) {
                throw new BallastException(ErrorCode.UNAVAILABLE, "cannot start the admin API on "
                        + config.adminListen() + ": " + io.getMessage(), io);
            }
            throw (RuntimeException) e;
        }
    }

    private static void startLocal(NodeConfig config, NodeDirectory directory, MapNbdExports exports,
            List<String> names, List<AutoCloseable> closeables) {
        ExecutorService io = Executors.newFixedThreadPool(config.ioThreads(),
                Thread.ofPlatform().daemon().name("io-", 1).factory());
        closeables.add(() -> {
            io.shutdown();
            io.awaitTermination(10, TimeUnit.SECONDS);
        });
        for (VolumeSpec spec : config.volumes()) {
            if (!directory.volumeNames().contains(spec.name())) {
                directory.createVolume(spec.name(), spec.sizeBytes()).close();
                LOG.info("created volume {} ({} bytes)", spec.name(), spec.sizeBytes());
            }
        }
        List<LocalBlockStore> stores = new ArrayList<>();
        for (String name : directory.volumeNames()) {
            LocalBlockStore store = directory.openVolume(name);
            for (VolumeSpec spec : config.volumes()) {
                if (spec.name().equals(name) && spec.sizeBytes() != store.size()) {
                    LOG.warn("volume {} exists with {} bytes; --volume asked for {} (resize is explicit, nothing changed)",
                            name, store.size(), spec.sizeBytes());
                }
            }
            LocalBlockVolume volume = new LocalBlockVolume(name, store, io);
            closeables.add(volume);
            stores.add(store);
            exports.add(volume);
            names.add(name);
        }
        closeables.add(new StoreCheckpointer(CHECKPOINT_INTERVAL, () -> stores));
    }

    private static ReplicatedVolumes startReplicated(NodeConfig config, NodeDirectory directory,
            MapNbdExports exports, List<AutoCloseable> closeables, Admission admission) {
        ReplicationConfig rc = ReplicationConfig.defaults(directory.identity().nodeId(),
                config.raftListen().getHostString(), config.raftListen().getPort())
                .withRebuildBytesPerSecond(config.rebuildBytesPerSecond()).withLogBudgetMin(config.logBudgetMin());
        if (!config.raftTls().enabled()) {
            LOG.warn("raft on {} is PLAINTEXT: any caller that reaches the port may speak Raft to this node's groups "
                    + "(give --tls-dir with the cluster's certificates)", config.raftListen());
        }
        RaftNode raft = RaftNode.start(rc, directory, config.diskWatermarks(),
                admission == null ? config.raftTls() : config.raftTls().admitting(admission));
        closeables.add(raft::closeForExit); // the node's process exits after its runtime closes
        closeables.add(new ScrubSchedule(config.scrub(), raft::scrubs, System::currentTimeMillis).start(SCRUB_CHECK_PERIOD));
        ReplicatedVolumes volumes = new ReplicatedVolumes(raft, directory, exports, config.nbdSocket(),
                config.leaderHomingDelay());
        closeables.add(volumes);
        return volumes;
    }

    /**
     * Joins the catalog group when this node is one of its members, and starts the heartbeat that
     * registers the node (with the admin port actually bound: tests pass port 0).
     */
    private static CatalogAgent startCatalogAgent(NodeConfig config, NodeDirectory directory, ReplicatedVolumes replicated,
            Server admin, Admission admission, Supplier<Set<String>> admissible) {
        if (config.catalogMembers().containsKey(directory.identity().nodeId())) {
            replicated.raft().catalog().join(config.catalogMembers());
        }
        CatalogAgent agent = new CatalogAgent(
                new CatalogClient(directory.identity().clusterId(), config.catalogMembers(), CatalogAgent.INTERVAL, config.raftTls()),
                replicated, directory.identity().nodeId(), config.adminListen().getHostString() + ":" + admin.getPort(),
                replicated.raft().config().address(), config.labels(), admission, admissible);
        agent.start();
        return agent;
    }

    /**
     * The CSI Identity + Node services on {@code config.csiEndpoint()}: volumes staged here become
     * block devices ({@code --attach}: kernel NBD connected to this node's NBD socket where the kernel
     * has nbd, else loop devices over FUSE files served by this process, mount points under
     * DIR/run/fuse), and what is staged is recorded under DIR/csi-node.
     */
    private static void startCsiNode(NodeConfig config, NodeDirectory directory, ReplicatedVolumes replicated,
            List<AutoCloseable> closeables) {
        DeviceAttachers.Choice how = DeviceAttachers.choose(config.attach());
        LOG.info("CSI Node service attaches volumes with {}: {}", how.kind(), how.reason());
        AttachedVolumeDevices.ReplicaLocator locator = AttachedVolumeDevices.ReplicaLocator.NONE;
        if (!config.catalogMembers().isEmpty()) {
            CatalogClient catalog = new CatalogClient(directory.identity().clusterId(), config.catalogMembers(), Duration.ofSeconds(10), config.raftTls());
            closeables.add(catalog);
            locator = new CatalogReplicaLocator(catalog);
        }
        AttachedVolumeDevices devices = new AttachedVolumeDevices(replicated,
                how.create(config.nbdSocket(), config.dataDir().resolve("run").resolve("fuse"),
                        config.fdKeeper() == null ? null : new FdKeeperClient(config.fdKeeper(), true)), locator);
        closeables.add(devices);
        NodeService node = new NodeService(NodeService.self(directory.identity().nodeId(), directory.identity().clusterId(), config.labels()), devices,
                new SystemMounter(), config.dataDir().resolve("csi-node"), config.keyDir());
        CsiServer csi = CsiServer.start(config.csiEndpoint(), List.of(
                new IdentityService(BallastVersion.version(), () -> true), node));
        closeables.add(csi::close);
        LOG.info("CSI Node service on {}", csi.socket());
        node.resumeStaged();
    }

    /** One line for logs and the ready message. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append("node ").append(directory.identity().nodeId())
                .append(" cluster ").append(directory.identity().clusterId())
                .append(", nbd unix:").append(config.nbdSocket());
        if (config.nbdTcp() != null) {
            sb.append(" tcp:").append(config.nbdTcp().getHostString()).append(':').append(nbd.tcpPort());
        }
        if (config.raftListen() != null) {
            sb.append(", raft ").append(config.raftListen().getHostString()).append(':').append(config.raftListen().getPort());
        }
        if (admin != null) {
            sb.append(", admin ").append(config.adminListen().getHostString()).append(':').append(admin.getPort());
        }
        if (config.raftListen() == null) {
            sb.append(", exports ").append(localExports);
        }
        return sb.toString();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        LOG.info("shutting down: closing listeners and volumes");
        closeAll(closeables);
        directory.close();
        LOG.info("stopped");
    }

    /** Closes in reverse start order; a failure is logged and the rest still closes. */
    private static void closeAll(List<AutoCloseable> closeables) {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                LOG.error("shutdown step {} failed: {}", closeables.get(i), e.toString());
            }
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION,
                    "cannot determine the host name for the node id; pass --node-id", e);
        }
    }
}
