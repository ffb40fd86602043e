package io.ballast.csi.controller;

import io.ballast.cluster.ClusterBackend;
import io.ballast.csi.Topologies;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * A working {@link ClusterBackend} in memory: the catalog's records and the placement rules, no
 * storage nodes behind them (a volume's data is not modelled; a clone or restore only records its
 * source). Used by the CSI conformance tests and held to {@link ClusterBackendContract} like the
 * real catalog backend.
 *
 * <p>Placement: up nodes that satisfy one requisite segment (any node when none is given) and have
 * room for a full copy; those matching an earlier preferred segment first, then the roomiest, then
 * by id. Each replica takes its size from its node's free bytes; deleting gives it back. Snapshots
 * take no space here.
 *
 * <p>Thread-safe: every method is synchronized. Subclasses may override a method to make it block
 * (concurrency tests) as long as they call the original outside any lock of theirs.
 */
public class InMemoryClusterBackend implements ClusterBackend {
    private final TreeMap<String, NodeRecord> nodes = new TreeMap<>();
    private final TreeMap<String, VolumeRecord> volumes = new TreeMap<>();
    private final TreeMap<String, SnapshotRecord> snapshots = new TreeMap<>();
    private final List<String> mutations = new ArrayList<>();
    private final LongSupplier clock;
    private volatile boolean ready = true;
    private int nextVolume = 1;
    private int nextSnapshot = 1;

    public InMemoryClusterBackend() {
        this(System::currentTimeMillis);
    }

    public InMemoryClusterBackend(LongSupplier clock) {
        this.clock = clock;
    }

    /** Registers an up node with {@code capacityBytes} all free. */
    public synchronized InMemoryClusterBackend addNode(String nodeId, Map<String, String> labels, long capacityBytes) {
        nodes.put(nodeId, new NodeRecord(nodeId, nodeId + ":9000", nodeId + ":9001", Map.copyOf(labels),
                capacityBytes, capacityBytes, true, clock.getAsLong()));
        return this;
    }

    public synchronized void setUp(String nodeId, boolean up) {
        NodeRecord n = nodes.get(nodeId);
        nodes.put(nodeId, new NodeRecord(n.nodeId(), n.adminAddress(), n.raftAddress(), n.labels(), n.capacityBytes(),
                n.freeBytes(), up, n.lastHeartbeatMillis()));
    }

    public void setReady(boolean ready) {
        this.ready = ready;
    }

    /** Sets the volume condition, as the catalog does when a replica goes missing or is repaired. */
    public synchronized void setCondition(String volumeId, boolean abnormal, String condition) {
        VolumeRecord v = volumes.get(volumeId);
        volumes.put(volumeId, new VolumeRecord(v.id(), v.name(), v.sizeBytes(), v.replicas(), v.placement(),
                v.parameters(), v.sourceSnapshotId(), v.sourceVolumeId(), v.attachments(), abnormal, condition));
    }

    /** Every mutating call that reached this backend, e.g. {@code createVolume pvc-1}, in order. */
    public synchronized List<String> mutations() {
        return List.copyOf(mutations);
    }

    @Override
    public boolean ready() {
        return ready;
    }

    @Override
    public synchronized List<NodeRecord> nodes() {
        return List.copyOf(nodes.values());
    }

    @Override
    public synchronized Optional<NodeRecord> node(String nodeId) {
        return Optional.ofNullable(nodes.get(nodeId));
    }

    @Override
    public synchronized List<VolumeRecord> volumes() {
        return List.copyOf(volumes.values());
    }

    @Override
    public synchronized Optional<VolumeRecord> volume(String volumeId) {
        return Optional.ofNullable(volumes.get(volumeId));
    }

    @Override
    public synchronized Optional<VolumeRecord> volumeByName(String name) {
        return volumes.values().stream().filter(v -> v.name().equals(name)).findFirst();
    }

    @Override
    public synchronized VolumeRecord createVolume(VolumeSpec spec) {
        Optional<VolumeRecord> existing = volumeByName(spec.name());
        if (existing.isPresent()) {
            return existing.get(); // a lookup, not a mutation
        }
        mutations.add("createVolume " + spec.name());
        if (spec.replicas() < 1 || spec.sizeBytes() <= 0) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "replicas and size must be positive");
        }
        long sourceSize = 0;
        if (present(spec.sourceSnapshotId())) {
            sourceSize = snapshot(spec.sourceSnapshotId()).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                    "snapshot " + spec.sourceSnapshotId() + " not found")).sizeBytes();
        } else if (present(spec.sourceVolumeId())) {
            sourceSize = volume(spec.sourceVolumeId()).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                    "volume " + spec.sourceVolumeId() + " not found")).sizeBytes();
        }
        if (spec.sizeBytes() < sourceSize) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE, "smaller than its source");
        }
        String sourceVolume = present(spec.sourceVolumeId()) ? spec.sourceVolumeId()
                : present(spec.sourceSnapshotId()) ? snapshot(spec.sourceSnapshotId()).orElseThrow().sourceVolumeId() : null;
        if (sourceVolume != null) {
            volume(sourceVolume).ifPresent(src -> io.ballast.cluster.VolumeEncryption.requireSameAsSource(spec.parameters(),
                    src.parameters(), "source volume " + sourceVolume));
        }
        List<String> placement = place(spec);
        placement.forEach(id -> take(id, spec.sizeBytes()));
        String id = String.format("vol-%06d", nextVolume++);
        VolumeRecord v = new VolumeRecord(id, spec.name(), spec.sizeBytes(), spec.replicas(), placement,
                Map.copyOf(spec.parameters()), spec.sourceSnapshotId(), spec.sourceVolumeId(), List.of(), false, "");
        volumes.put(id, v);
        return v;
    }

    private List<String> place(VolumeSpec spec) {
        List<NodeRecord> inTopology = nodes.values().stream().filter(NodeRecord::up)
                .filter(n -> spec.requisite().isEmpty() || spec.requisite().stream().anyMatch(s -> Topologies.matches(n, s)))
                .toList();
        List<NodeRecord> roomy = inTopology.stream().filter(n -> n.freeBytes() >= spec.sizeBytes()).toList();
        if (roomy.size() < spec.replicas()) {
            throw new BallastException(ErrorCode.NO_SPACE, spec.replicas() + " replicas need as many nodes; "
                    + inTopology.size() + " up nodes satisfy the topology, " + roomy.size() + " of them have "
                    + spec.sizeBytes() + " bytes free");
        }
        Comparator<NodeRecord> order = Comparator.<NodeRecord>comparingInt(n -> preferredRank(n, spec.preferred()))
                .thenComparing(NodeRecord::freeBytes, Comparator.reverseOrder()).thenComparing(NodeRecord::nodeId);
        return roomy.stream().sorted(order).limit(spec.replicas()).map(NodeRecord::nodeId).toList();
    }

    private static int preferredRank(NodeRecord n, List<Map<String, String>> preferred) {
        for (int i = 0; i < preferred.size(); i++) {
            if (Topologies.matches(n, preferred.get(i))) {
                return i;
            }
        }
        return preferred.size();
    }

    private void take(String nodeId, long bytes) {
        NodeRecord n = nodes.get(nodeId);
        if (n != null) {
            nodes.put(nodeId, new NodeRecord(n.nodeId(), n.adminAddress(), n.raftAddress(), n.labels(),
                    n.capacityBytes(), n.freeBytes() - bytes, n.up(), n.lastHeartbeatMillis()));
        }
    }

    @Override
    public synchronized void deleteVolume(String volumeId) {
        mutations.add("deleteVolume " + volumeId);
        VolumeRecord v = volumes.get(volumeId);
        if (v == null) {
            return;
        }
        if (!v.attachments().isEmpty()) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + volumeId + " is published on "
                    + v.attachments().stream().map(Attachment::nodeId).toList());
        }
        if (snapshots.values().stream().anyMatch(s -> s.sourceVolumeId().equals(volumeId))) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + volumeId + " has snapshots");
        }
        volumes.remove(volumeId);
        v.placement().forEach(id -> take(id, -v.sizeBytes()));
    }

    @Override
    public synchronized VolumeRecord expandVolume(String volumeId, long sizeBytes) {
        mutations.add("expandVolume " + volumeId);
        VolumeRecord v = volume(volumeId).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND, "volume " + volumeId + " not found"));
        if (sizeBytes <= v.sizeBytes()) {
            return v;
        }
        long delta = sizeBytes - v.sizeBytes();
        for (String id : v.placement()) {
            if (nodes.get(id).freeBytes() < delta) {
                throw new BallastException(ErrorCode.NO_SPACE, "node " + id + " has no room to grow volume " + volumeId);
            }
        }
        v.placement().forEach(id -> take(id, delta));
        VolumeRecord grown = new VolumeRecord(v.id(), v.name(), sizeBytes, v.replicas(), v.placement(), v.parameters(),
                v.sourceSnapshotId(), v.sourceVolumeId(), v.attachments(), v.abnormal(), v.condition());
        volumes.put(volumeId, grown);
        return grown;
    }

    /** When false, setReplicas records the count but leaves the placement to a later {@link #settleReplicas}. */
    volatile boolean replicasSettleAtOnce = true;

    @Override
    public synchronized VolumeRecord setReplicas(String volumeId, int replicas) {
        mutations.add("setReplicas " + volumeId + " " + replicas);
        VolumeRecord v = volume(volumeId).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND, "volume " + volumeId + " not found"));
        long roomy = nodes.values().stream().filter(n -> n.up() && !v.placement().contains(n.nodeId())
                && n.freeBytes() >= v.sizeBytes()).count();
        if (replicas - v.placement().size() > roomy) {
            throw new BallastException(ErrorCode.NO_SPACE, replicas + " replicas need " + (replicas - v.placement().size())
                    + " more nodes with room; " + roomy + " have it");
        }
        VolumeRecord asked = new VolumeRecord(v.id(), v.name(), v.sizeBytes(), replicas, v.placement(), v.parameters(),
                v.sourceSnapshotId(), v.sourceVolumeId(), v.attachments(), v.placement().size() != replicas,
                v.placement().size() == replicas ? "" : v.placement().size() + " of " + replicas + " replicas placed");
        volumes.put(volumeId, asked);
        if (replicasSettleAtOnce) {
            settleReplicas(volumeId);
        }
        return volumes.get(volumeId);
    }

    /** Adds or removes replicas (never on an attached node) until the placement matches the count. */
    synchronized void settleReplicas(String volumeId) {
        VolumeRecord v = volumes.get(volumeId);
        List<String> placement = new ArrayList<>(v.placement());
        while (placement.size() < v.replicas()) {
            String n = nodes.values().stream().filter(x -> x.up() && !placement.contains(x.nodeId())
                    && x.freeBytes() >= v.sizeBytes()).map(NodeRecord::nodeId).sorted().findFirst().orElseThrow();
            take(n, v.sizeBytes());
            placement.add(n);
        }
        List<String> attached = v.attachments().stream().map(Attachment::nodeId).toList();
        for (int i = placement.size() - 1; i >= 0 && placement.size() > v.replicas(); i--) {
            if (!attached.contains(placement.get(i))) {
                take(placement.remove(i), -v.sizeBytes());
            }
        }
        volumes.put(volumeId, new VolumeRecord(v.id(), v.name(), v.sizeBytes(), v.replicas(), List.copyOf(placement),
                v.parameters(), v.sourceSnapshotId(), v.sourceVolumeId(), v.attachments(), false, ""));
    }

    @Override
    public synchronized VolumeRecord publish(String volumeId, String nodeId, boolean readonly, boolean exclusive) {
        mutations.add("publish " + volumeId + " " + nodeId);
        VolumeRecord v = volume(volumeId).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND, "volume " + volumeId + " not found"));
        node(nodeId).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND, "node " + nodeId + " not found"));
        List<Attachment> others = new ArrayList<>();
        for (Attachment a : v.attachments()) {
            if (a.nodeId().equals(nodeId)) {
                if (a.readonly() != readonly) {
                    throw new BallastException(ErrorCode.ALREADY_EXISTS, "volume " + volumeId + " is published on "
                            + nodeId + " with readonly=" + a.readonly());
                }
            } else {
                others.add(a);
                if (exclusive || a.exclusive()) {
                    throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + volumeId
                            + " is published on node " + a.nodeId() + (a.exclusive() ? " exclusively" : ""));
                }
            }
        }
        others.add(new Attachment(nodeId, readonly, exclusive));
        others.sort(Comparator.comparing(Attachment::nodeId));
        VolumeRecord published = withAttachments(v, others);
        volumes.put(volumeId, published);
        return published;
    }

    @Override
    public synchronized void unpublish(String volumeId, String nodeId) {
        mutations.add("unpublish " + volumeId + " " + nodeId);
        VolumeRecord v = volumes.get(volumeId);
        if (v != null) {
            volumes.put(volumeId, withAttachments(v, nodeId == null ? List.of()
                    : v.attachments().stream().filter(a -> !a.nodeId().equals(nodeId)).toList()));
        }
    }

    private static VolumeRecord withAttachments(VolumeRecord v, List<Attachment> attachments) {
        return new VolumeRecord(v.id(), v.name(), v.sizeBytes(), v.replicas(), v.placement(), v.parameters(),
                v.sourceSnapshotId(), v.sourceVolumeId(), List.copyOf(attachments), v.abnormal(), v.condition());
    }

    @Override
    public synchronized List<SnapshotRecord> snapshots() {
        return List.copyOf(snapshots.values());
    }

    @Override
    public synchronized Optional<SnapshotRecord> snapshot(String snapshotId) {
        return Optional.ofNullable(snapshots.get(snapshotId));
    }

    @Override
    public synchronized Optional<SnapshotRecord> snapshotByName(String name) {
        return snapshots.values().stream().filter(s -> s.name().equals(name)).findFirst();
    }

    @Override
    public synchronized SnapshotRecord createSnapshot(String sourceVolumeId, String name) {
        mutations.add("createSnapshot " + name);
        Optional<SnapshotRecord> existing = snapshotByName(name);
        if (existing.isPresent()) {
            if (existing.get().sourceVolumeId().equals(sourceVolumeId)) {
                return existing.get();
            }
            throw new BallastException(ErrorCode.ALREADY_EXISTS, "snapshot name " + name + " belongs to volume "
                    + existing.get().sourceVolumeId());
        }
        VolumeRecord v = volume(sourceVolumeId).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                "volume " + sourceVolumeId + " not found"));
        SnapshotRecord s = new SnapshotRecord(String.format("snap-%06d", nextSnapshot++), name, sourceVolumeId,
                v.sizeBytes(), clock.getAsLong(), true);
        snapshots.put(s.id(), s);
        return s;
    }

    @Override
    public synchronized void deleteSnapshot(String snapshotId) {
        mutations.add("deleteSnapshot " + snapshotId);
        snapshots.remove(snapshotId);
    }

    private static boolean present(String s) {
        return s != null && !s.isEmpty();
    }
}
