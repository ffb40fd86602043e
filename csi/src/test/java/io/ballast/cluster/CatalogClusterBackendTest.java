package io.ballast.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ballast.csi.InProcessCsi;
import io.ballast.csi.controller.ClusterBackendContract;
import io.ballast.daemon.NodeConfig;
import io.ballast.daemon.NodeRuntime;
import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.replication.catalog.CatalogClient;
import io.ballast.replication.testing.FreePorts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The real backend (catalog group + storage nodes' admin APIs) held to the same contract as the
 * in-memory one the CSI conformance tests use: three in-process {@code ballast node} runtimes that
 * host the catalog and heartbeat to it, started once for the class; each test begins from an empty
 * catalog (the previous test's volumes and snapshots are deleted through the backend itself).
 */
class CatalogClusterBackendTest extends ClusterBackendContract {
    private static final List<NodeRuntime> NODES = new ArrayList<>();
    private static Path root;
    private static List<Map<String, String>> labels;
    private static CatalogClient catalog;
    private static CatalogClient probe;
    private static NodeAdminClients admins;
    private static CatalogClusterBackend shared;
    private static Map<String, String> members;

    @Override
    protected ClusterBackend newBackend(List<Map<String, String>> nodeLabels) throws Exception {
        if (shared == null) {
            start(nodeLabels);
        } else if (!nodeLabels.equals(labels)) {
            throw new IllegalStateException("the shared cluster was started with labels " + labels);
        }
        clear(shared);
        return new NotClosing(shared);
    }

    private static void start(List<Map<String, String>> nodeLabels) throws IOException, InterruptedException {
        labels = nodeLabels;
        root = Files.createTempDirectory("catalog-backend");
        members = new LinkedHashMap<>();
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < nodeLabels.size(); i++) {
            ports.add(FreePorts.next());
            members.put("n" + (i + 1), "127.0.0.1:" + ports.get(i));
        }
        for (int i = 0; i < nodeLabels.size(); i++) {
            Path dir = root.resolve("n" + (i + 1));
            NODES.add(NodeRuntime.start(new NodeConfig(dir, "contract", "n" + (i + 1), root.resolve("n" + (i + 1) + ".sock"),
                    null, List.of(), 2, new InetSocketAddress("127.0.0.1", ports.get(i)),
                    new InetSocketAddress("127.0.0.1", 0), members, nodeLabels.get(i))));
        }
        catalog = new CatalogClient("contract", members, Duration.ofSeconds(20));
        probe = new CatalogClient("contract", members, Duration.ofMillis(500));
        admins = new NodeAdminClients();
        shared = new CatalogClusterBackend(catalog, probe, admins, Duration.ofSeconds(10), System::currentTimeMillis);
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                if (shared.nodes().size() == nodeLabels.size() && shared.nodes().stream().allMatch(ClusterBackend.NodeRecord::up)) {
                    return;
                }
            } catch (RuntimeException e) {
                // no catalog leader yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the nodes did not register in the catalog within 60 s");
    }

    /**
     * One CSI CreateVolume reads the whole catalog once (each read ships all of CatalogState):
     * a new empty volume, and the retry that finds it.
     */
    @Test
    void createVolumeReadsTheCatalogOnce() throws IOException {
        try (InProcessCsi csi = new InProcessCsi(new NotClosing(shared))) {
            CreateVolumeRequest request = CreateVolumeRequest.newBuilder().setName("pvc-reads")
                    .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(16L << 20))
                    .addVolumeCapabilities(VolumeCapability.newBuilder()
                            .setMount(VolumeCapability.MountVolume.newBuilder().setFsType("ext4"))
                            .setAccessMode(VolumeCapability.AccessMode.newBuilder()
                                    .setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER))).build();
            long before = catalog.reads();
            String id = csi.controller.createVolume(request).getVolume().getVolumeId();
            long created = catalog.reads() - before;
            before = catalog.reads();
            assertEquals(id, csi.controller.createVolume(request).getVolume().getVolumeId());
            long retried = catalog.reads() - before;
            System.out.printf("catalog reads: CreateVolume %d, its retry %d%n", created, retried);
            assertEquals(1, created, "whole-catalog reads of one CreateVolume");
            assertEquals(1, retried, "whole-catalog reads of a CreateVolume retry");
        }
    }

    /**
     * A cordon seen by a node's watch drains it through the catalog, a repeat changes nothing, and
     * the uncordon lifts it. The source stands in for the Kubernetes informer (which needs an API
     * server: tests/e2e/run.sh cordons a real node).
     */
    @Test
    void aCordonDrainsTheNodeAndTheUncordonLiftsIt() throws Exception {
        java.util.concurrent.atomic.AtomicReference<java.util.function.Consumer<Boolean>> watcher = new java.util.concurrent.atomic.AtomicReference<>();
        io.ballast.daemon.NodeCordonSource source = (node, cordoned) -> {
            watcher.set(cordoned);
            return () -> watcher.set(null);
        };
        try (io.ballast.daemon.CordonDrain drain = io.ballast.daemon.CordonDrain.start(source,
                new CatalogClient("contract", members, Duration.ofSeconds(10)), "n2")) {
            watcher.get().accept(true);
            io.ballast.replication.testing.Await.await(() -> drainOf("n2") == io.ballast.proto.v1.NodeDrain.NODE_DRAIN_LEADERS,
                    10, "n2 drained by its cordon");
            assertEquals(true, node("n2").getDrainFromCordon());
            watcher.get().accept(true); // the informer's resync repeats the state
            watcher.get().accept(false);
            io.ballast.replication.testing.Await.await(() -> drainOf("n2") == io.ballast.proto.v1.NodeDrain.NODE_DRAIN_NONE,
                    10, "n2's drain lifted by the uncordon");
        }
        assertEquals(null, watcher.get(), "closing stops the watch");
    }

    private static io.ballast.proto.v1.CatalogNode node(String id) {
        return catalog.read().getNodesList().stream().filter(n -> n.getNodeId().equals(id)).findFirst().orElseThrow();
    }

    private static io.ballast.proto.v1.NodeDrain drainOf(String id) {
        return node(id).getDrain();
    }

    /** Deletes what a previous test left, in the order the backend's rules allow. */
    private static void clear(ClusterBackend b) {
        for (var v : b.volumes()) {
            b.unpublish(v.id(), null);
        }
        for (var s : b.snapshots()) {
            b.deleteSnapshot(s.id());
        }
        for (var v : b.volumes()) {
            b.deleteVolume(v.id());
        }
    }

    @AfterAll
    static void stopCluster() {
        if (admins != null) {
            admins.close();
            catalog.close();
            probe.close();
        }
        for (int i = NODES.size() - 1; i >= 0; i--) {
            NODES.get(i).close();
        }
        NODES.clear();
        shared = null;
        if (root != null) {
            // The nodes' data directories (Raft logs, stores): a run left ~250 KiB in /tmp each time.
            try (var paths = Files.walk(root)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                // best effort: it is a temporary directory
            }
            root = null;
        }
    }

    /** The shared backend, handed to each test without being closed by it. */
    private record NotClosing(ClusterBackend delegate) implements ClusterBackend {
        public boolean ready() { return delegate.ready(); }
        public List<NodeRecord> nodes() { return delegate.nodes(); }
        public java.util.Optional<NodeRecord> node(String id) { return delegate.node(id); }
        public List<VolumeRecord> volumes() { return delegate.volumes(); }
        public java.util.Optional<VolumeRecord> volume(String id) { return delegate.volume(id); }
        public java.util.Optional<VolumeRecord> volumeByName(String name) { return delegate.volumeByName(name); }
        public VolumeRecord createVolume(VolumeSpec spec) { return delegate.createVolume(spec); }
        public void deleteVolume(String id) { delegate.deleteVolume(id); }
        public VolumeRecord expandVolume(String id, long size) { return delegate.expandVolume(id, size); }
        public VolumeRecord setReplicas(String id, int replicas) { return delegate.setReplicas(id, replicas); }
        public VolumeRecord publish(String id, String node, boolean ro, boolean ex) { return delegate.publish(id, node, ro, ex); }
        public void unpublish(String id, String node) { delegate.unpublish(id, node); }
        public List<SnapshotRecord> snapshots() { return delegate.snapshots(); }
        public java.util.Optional<SnapshotRecord> snapshot(String id) { return delegate.snapshot(id); }
        public java.util.Optional<SnapshotRecord> snapshotByName(String name) { return delegate.snapshotByName(name); }
        public SnapshotRecord createSnapshot(String source, String name) { return delegate.createSnapshot(source, name); }
        public void deleteSnapshot(String id) { delegate.deleteSnapshot(id); }
    }
}
