package io.ballast.csi.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.cluster.ClusterBackend;
import io.ballast.cluster.ClusterBackend.Attachment;
import io.ballast.cluster.ClusterBackend.NodeRecord;
import io.ballast.cluster.ClusterBackend.SnapshotRecord;
import io.ballast.cluster.ClusterBackend.VolumeRecord;
import io.ballast.cluster.ClusterBackend.VolumeSpec;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * What every {@link ClusterBackend} must do, written once against the interface: extend it with a
 * factory for your implementation (the in-memory one in this module, the catalog one in the
 * integration suite). Each test gets a fresh backend with three up nodes, labelled zone=a, zone=a
 * and zone=b, and sizes small enough (16 MiB volumes) for a real cluster on a laptop.
 */
public abstract class ClusterBackendContract {
    protected static final long MIB = 1L << 20;
    protected static final long SIZE = 16 * MIB;

    protected ClusterBackend backend;
    /** Node ids in the order of the labels given to the factory: zone a, zone a, zone b. */
    protected List<String> a = new ArrayList<>();
    protected String b;

    /**
     * A ready backend with one up storage node per entry of {@code nodeLabels} carrying those labels,
     * no volumes or snapshots, and at least 1 GiB free on each node. Closed after the test when it is
     * {@link AutoCloseable}.
     */
    protected abstract ClusterBackend newBackend(List<Map<String, String>> nodeLabels) throws Exception;

    @BeforeEach
    void startBackend() throws Exception {
        backend = newBackend(List.of(Map.of("zone", "a"), Map.of("zone", "a"), Map.of("zone", "b")));
        for (NodeRecord n : backend.nodes()) {
            if ("b".equals(n.labels().get("zone"))) {
                b = n.nodeId();
            } else {
                a.add(n.nodeId());
            }
        }
    }

    @AfterEach
    void stopBackend() throws Exception {
        if (backend instanceof AutoCloseable c) {
            c.close();
        }
    }

    protected static VolumeSpec spec(String name, int replicas) {
        return new VolumeSpec(name, SIZE, replicas, Map.of("replicas", Integer.toString(replicas)), null, null, List.of(), List.of());
    }

    protected static void assertCode(ErrorCode code, Executable call) {
        BallastException e = assertThrows(BallastException.class, call);
        assertEquals(code, e.code(), e.getMessage());
    }

    @Test
    void readyWithItsNodesOrderedById() {
        assertTrue(backend.ready());
        List<String> ids = backend.nodes().stream().map(NodeRecord::nodeId).toList();
        assertEquals(3, ids.size());
        assertEquals(ids.stream().sorted().toList(), ids);
        assertTrue(backend.nodes().stream().allMatch(NodeRecord::up));
        assertEquals(2, a.size());
        assertEquals(b, backend.node(b).orElseThrow().nodeId());
        assertTrue(backend.node("no-such-node").isEmpty());
    }

    @Test
    void createVolumePlacesReplicasOnDistinctNodes() {
        VolumeRecord v = backend.createVolume(spec("v1", 3));
        assertEquals("v1", v.name());
        assertTrue(v.sizeBytes() >= SIZE);
        assertEquals(3, v.replicas());
        assertEquals(3, v.placement().size());
        assertEquals(Set.of(a.get(0), a.get(1), b), new HashSet<>(v.placement()));
        assertTrue(v.attachments().isEmpty());
        assertFalse(v.abnormal());
        assertEquals("3", v.parameters().get("replicas"));
    }

    @Test
    void createdVolumesAreFoundByIdAndNameAndListedById() {
        VolumeRecord v1 = backend.createVolume(spec("v1", 1));
        VolumeRecord v2 = backend.createVolume(spec("v2", 2));
        assertNotEquals(v1.id(), v2.id());
        assertEquals(v1, backend.volume(v1.id()).orElseThrow());
        assertEquals(v2, backend.volumeByName("v2").orElseThrow());
        assertTrue(backend.volumeByName("v3").isEmpty());
        assertTrue(backend.volume("no-such-volume").isEmpty());
        List<String> ids = backend.volumes().stream().map(VolumeRecord::id).toList();
        assertEquals(List.of(v1.id(), v2.id()).stream().sorted().toList(), ids);
    }

    @Test
    void aTakenNameAnswersTheVolumeItNames() {
        VolumeRecord first = backend.createVolume(spec("v1", 1));
        VolumeRecord again = backend.createVolume(spec("v1", 2)); // the caller compares the specs
        assertEquals(first.id(), again.id());
        assertEquals(1, again.replicas());
        assertEquals(1, backend.volumes().size());
    }

    @Test
    void tooFewNodesOrTooLittleSpaceIsNoSpace() {
        assertCode(ErrorCode.NO_SPACE, () -> backend.createVolume(spec("v1", 4)));
        long most = backend.nodes().stream().mapToLong(NodeRecord::freeBytes).max().orElseThrow();
        long tooBig = (most / MIB + 1024) * MIB;
        assertCode(ErrorCode.NO_SPACE, () -> backend.createVolume(
                new VolumeSpec("v2", tooBig, 1, Map.of("replicas", "1"), null, null, List.of(), List.of())));
        assertTrue(backend.volumes().isEmpty());
    }

    @Test
    void requisiteTopologyBoundsPlacement() {
        VolumeRecord inA = backend.createVolume(new VolumeSpec("v1", SIZE, 2, Map.of(), null, null,
                List.of(Map.of("zone", "a")), List.of()));
        assertEquals(Set.copyOf(a), Set.copyOf(inA.placement()));
        VolumeRecord onB = backend.createVolume(new VolumeSpec("v2", SIZE, 1, Map.of(), null, null,
                List.of(Map.of("node", b)), List.of()));
        assertEquals(List.of(b), onB.placement());
        VolumeRecord either = backend.createVolume(new VolumeSpec("v3", SIZE, 2, Map.of(), null, null,
                List.of(Map.of("node", a.get(0)), Map.of("zone", "b")), List.of()));
        assertEquals(Set.of(a.get(0), b), Set.copyOf(either.placement()));
    }

    @Test
    void unsatisfiableTopologyIsNoSpace() {
        assertCode(ErrorCode.NO_SPACE, () -> backend.createVolume(new VolumeSpec("v1", SIZE, 3, Map.of(), null, null,
                List.of(Map.of("zone", "a")), List.of())));
        assertCode(ErrorCode.NO_SPACE, () -> backend.createVolume(new VolumeSpec("v2", SIZE, 1, Map.of(), null, null,
                List.of(Map.of("node", "no-such-node")), List.of())));
        assertTrue(backend.volumes().isEmpty());
    }

    @Test
    void preferredTopologyIsChosenFirst() {
        VolumeRecord v = backend.createVolume(new VolumeSpec("v1", SIZE, 1, Map.of(), null, null,
                List.of(), List.of(Map.of("zone", "b"))));
        assertEquals(List.of(b), v.placement());
    }

    @Test
    void contentSourcesAreRecordedAndMustExist() {
        VolumeRecord source = backend.createVolume(spec("source", 1));
        SnapshotRecord snap = backend.createSnapshot(source.id(), "snap");
        VolumeRecord restored = backend.createVolume(new VolumeSpec("restored", SIZE, 1, Map.of(), snap.id(), null, List.of(), List.of()));
        assertEquals(snap.id(), restored.sourceSnapshotId());
        VolumeRecord clone = backend.createVolume(new VolumeSpec("clone", SIZE, 1, Map.of(), null, source.id(), List.of(), List.of()));
        assertEquals(source.id(), clone.sourceVolumeId());
        assertCode(ErrorCode.NOT_FOUND, () -> backend.createVolume(
                new VolumeSpec("x", SIZE, 1, Map.of(), "no-such-snapshot", null, List.of(), List.of())));
        assertCode(ErrorCode.NOT_FOUND, () -> backend.createVolume(
                new VolumeSpec("y", SIZE, 1, Map.of(), null, "no-such-volume", List.of(), List.of())));
        assertTrue(backend.volumeByName("x").isEmpty());
    }

    /** A clone or restore is encrypted exactly when its source is: it carries the source's ciphertext and key slots. */
    @Test
    void aCloneIsEncryptedExactlyWhenItsSourceIs() {
        Map<String, String> encrypted = Map.of("encrypted", "true");
        VolumeRecord secret = backend.createVolume(new VolumeSpec("secret", SIZE, 1, encrypted, null, null, List.of(), List.of()));
        VolumeRecord plain = backend.createVolume(spec("plain", 1));
        SnapshotRecord snap = backend.createSnapshot(secret.id(), "secret-snap");
        assertCode(ErrorCode.INVALID_ARGUMENT, () -> backend.createVolume(
                new VolumeSpec("leak", SIZE, 1, Map.of(), snap.id(), null, List.of(), List.of())));
        assertCode(ErrorCode.INVALID_ARGUMENT, () -> backend.createVolume(
                new VolumeSpec("leak2", SIZE, 1, Map.of(), null, secret.id(), List.of(), List.of())));
        assertCode(ErrorCode.INVALID_ARGUMENT, () -> backend.createVolume(
                new VolumeSpec("garbled", SIZE, 1, encrypted, null, plain.id(), List.of(), List.of())));
        assertTrue(backend.volumeByName("leak").isEmpty() && backend.volumeByName("garbled").isEmpty());
        VolumeRecord restored = backend.createVolume(new VolumeSpec("restored", SIZE, 1, encrypted, snap.id(), null, List.of(), List.of()));
        assertEquals(encrypted, Map.of("encrypted", restored.parameters().get("encrypted")));
    }

    @Test
    void deleteVolumeIsIdempotent() {
        VolumeRecord v = backend.createVolume(spec("v1", 2));
        backend.deleteVolume(v.id());
        assertTrue(backend.volume(v.id()).isEmpty());
        assertTrue(backend.volumeByName("v1").isEmpty());
        backend.deleteVolume(v.id());
        backend.deleteVolume("no-such-volume");
        backend.createVolume(spec("v1", 2)); // the name is free again
    }

    @Test
    void deleteIsRefusedWhilePublishedOrSnapshotted() {
        VolumeRecord v = backend.createVolume(spec("v1", 1));
        backend.publish(v.id(), a.get(0), false, true);
        assertCode(ErrorCode.FAILED_PRECONDITION, () -> backend.deleteVolume(v.id()));
        backend.unpublish(v.id(), a.get(0));
        SnapshotRecord s = backend.createSnapshot(v.id(), "s1");
        assertCode(ErrorCode.FAILED_PRECONDITION, () -> backend.deleteVolume(v.id()));
        assertTrue(backend.volume(v.id()).isPresent());
        backend.deleteSnapshot(s.id());
        backend.deleteVolume(v.id());
        assertTrue(backend.volume(v.id()).isEmpty());
    }

    @Test
    void expandGrowsAndNeverShrinks() {
        VolumeRecord v = backend.createVolume(spec("v1", 2));
        VolumeRecord grown = backend.expandVolume(v.id(), 2 * SIZE);
        assertTrue(grown.sizeBytes() >= 2 * SIZE);
        assertEquals(grown.sizeBytes(), backend.volume(v.id()).orElseThrow().sizeBytes());
        assertEquals(grown.sizeBytes(), backend.expandVolume(v.id(), SIZE).sizeBytes());
        assertEquals(grown.sizeBytes(), backend.expandVolume(v.id(), 2 * SIZE).sizeBytes());
        assertCode(ErrorCode.NOT_FOUND, () -> backend.expandVolume("no-such-volume", SIZE));
    }

    @Test
    void publishIsIdempotentAndRecorded() {
        VolumeRecord v = backend.createVolume(spec("v1", 1));
        VolumeRecord p = backend.publish(v.id(), b, true, true);
        assertEquals(List.of(new Attachment(b, true, true)), p.attachments());
        assertEquals(p.attachments(), backend.publish(v.id(), b, true, true).attachments());
        assertEquals(p.attachments(), backend.volume(v.id()).orElseThrow().attachments());
        assertCode(ErrorCode.ALREADY_EXISTS, () -> backend.publish(v.id(), b, false, true));
    }

    @Test
    void exclusivePublicationElsewhereIsFailedPrecondition() {
        VolumeRecord v = backend.createVolume(spec("v1", 1));
        backend.publish(v.id(), a.get(0), false, true);
        assertCode(ErrorCode.FAILED_PRECONDITION, () -> backend.publish(v.id(), a.get(1), false, true));
        assertCode(ErrorCode.FAILED_PRECONDITION, () -> backend.publish(v.id(), a.get(1), true, false));
        backend.unpublish(v.id(), a.get(0));
        backend.publish(v.id(), a.get(1), true, false);
        assertCode(ErrorCode.FAILED_PRECONDITION, () -> backend.publish(v.id(), b, true, true));
        assertEquals(List.of(a.get(1)), backend.volume(v.id()).orElseThrow().attachments().stream().map(Attachment::nodeId).toList());
    }

    @Test
    void sharedPublicationOnSeveralNodes() {
        VolumeRecord v = backend.createVolume(spec("v1", 1));
        backend.publish(v.id(), a.get(0), true, false);
        backend.publish(v.id(), b, true, false);
        Set<String> nodes = new HashSet<>();
        backend.volume(v.id()).orElseThrow().attachments().forEach(x -> nodes.add(x.nodeId()));
        assertEquals(Set.of(a.get(0), b), nodes);
    }

    @Test
    void publishOfUnknownVolumeOrNodeIsNotFound() {
        VolumeRecord v = backend.createVolume(spec("v1", 1));
        assertCode(ErrorCode.NOT_FOUND, () -> backend.publish("no-such-volume", b, false, true));
        assertCode(ErrorCode.NOT_FOUND, () -> backend.publish(v.id(), "no-such-node", false, true));
        assertTrue(backend.volume(v.id()).orElseThrow().attachments().isEmpty());
    }

    @Test
    void unpublishIsIdempotentAndNullMeansEveryNode() {
        VolumeRecord v = backend.createVolume(spec("v1", 1));
        backend.publish(v.id(), a.get(0), true, false);
        backend.publish(v.id(), b, true, false);
        backend.unpublish(v.id(), b);
        backend.unpublish(v.id(), b);
        assertEquals(1, backend.volume(v.id()).orElseThrow().attachments().size());
        backend.unpublish(v.id(), null);
        assertTrue(backend.volume(v.id()).orElseThrow().attachments().isEmpty());
        backend.unpublish("no-such-volume", b);
        backend.unpublish("no-such-volume", null);
    }

    @Test
    void snapshotsAreIdempotentByNameAndBelongToOneVolume() {
        VolumeRecord v1 = backend.createVolume(spec("v1", 1));
        VolumeRecord v2 = backend.createVolume(spec("v2", 1));
        SnapshotRecord s = backend.createSnapshot(v1.id(), "s1");
        assertEquals("s1", s.name());
        assertEquals(v1.id(), s.sourceVolumeId());
        assertEquals(v1.sizeBytes(), s.sizeBytes());
        assertTrue(s.creationTimeMillis() > 0);
        assertEquals(s.id(), backend.createSnapshot(v1.id(), "s1").id());
        assertCode(ErrorCode.ALREADY_EXISTS, () -> backend.createSnapshot(v2.id(), "s1"));
        assertCode(ErrorCode.NOT_FOUND, () -> backend.createSnapshot("no-such-volume", "s2"));
        SnapshotRecord s3 = backend.createSnapshot(v2.id(), "s3");
        assertEquals(s.id(), backend.snapshotByName("s1").orElseThrow().id());
        assertEquals(s3, backend.snapshot(s3.id()).orElseThrow());
        List<String> ids = backend.snapshots().stream().map(SnapshotRecord::id).toList();
        assertEquals(List.of(s.id(), s3.id()).stream().sorted().toList(), ids);
        backend.deleteSnapshot(s.id());
        backend.deleteSnapshot(s.id());
        backend.deleteSnapshot("no-such-snapshot");
        assertTrue(backend.snapshot(s.id()).isEmpty());
        assertTrue(backend.snapshotByName("s1").isEmpty());
    }

    @Test
    void concurrentCreatesOfDistinctNamesAllSucceed() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<VolumeRecord>> futures = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                String name = "c" + i;
                futures.add(pool.submit(() -> backend.createVolume(spec(name, 1))));
            }
            Set<String> ids = new HashSet<>();
            for (Future<VolumeRecord> f : futures) {
                ids.add(f.get().id());
            }
            assertEquals(8, ids.size());
            assertEquals(8, backend.volumes().size());
        } finally {
            pool.shutdownNow();
        }
    }
}
