package io.ballast.cluster;

import io.ballast.engine.error.BallastException;
import io.ballast.proto.v1.AddReplicaRequest;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.CatalogVolumeState;
import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.proto.v1.Peer;
import io.ballast.proto.v1.RemoveReplicaRequest;
import io.ballast.proto.v1.SetPlacement;
import io.ballast.proto.v1.SetRepair;
import io.ballast.replication.catalog.CatalogClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every volume's placement at its replica count. Replicas of nodes that have been down longer
 * than {@code repairAfter} are re-placed: for each
 * such replica a new node is chosen ({@link Placement}, never one already holding the volume), added
 * to the volume's group by a surviving replica's node (it is rebuilt by block copy, then votes),
 * the dead member is removed, and the catalog's placement is swapped (compare and set). While it
 * runs, the volume's {@code repair} field says what is happening, with the copy's progress, and
 * its condition is abnormal. When every replica's node is up and the replica count was changed
 * (CSI ModifyVolume), one replica is added (placed, rebuilt, then recorded) or removed (out of the
 * group and deleted, then unrecorded) per tick until the placement matches. A node drained with
 * evacuation ({@code ballast node drain --evacuate}) is emptied the same way: each of its replicas
 * is first re-created on another node, then removed, so a volume never has fewer replicas than it
 * should.
 *
 * <p>One repair at a time (bounded load on the survivors). Threading: one scheduler thread.
 * A failed step is logged and counted; the next tick starts over from the catalog.
 */
public final class RepairLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RepairLoop.class);
    static final Duration ADD_DEADLINE = Duration.ofMinutes(11);

    private final Supplier<ClusterView> views;
    private final CatalogClient catalog;
    private final NodeAdminClients nodes;
    private final Duration repairAfter;
    private final Duration interval;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("repair-loop").factory());
    private final ScheduledExecutorService progress = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("repair-progress").factory());
    private final AtomicLong repaired = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();

    /** A loop over the catalog views of {@code backend}. */
    public RepairLoop(CatalogClusterBackend backend, CatalogClient catalog, NodeAdminClients nodes, Duration repairAfter,
            Duration interval) {
        this(backend::view, catalog, nodes, repairAfter, interval);
    }

    /** Replicas re-placed so far (metrics). */
    public AtomicLong repaired() {
        return repaired;
    }

    /** Repair steps that failed so far (metrics). */
    public AtomicLong failed() {
        return failed;
    }

    RepairLoop(Supplier<ClusterView> views, CatalogClient catalog, NodeAdminClients nodes, Duration repairAfter,
            Duration interval) {
        this.views = views;
        this.catalog = catalog;
        this.nodes = nodes;
        this.repairAfter = repairAfter;
        this.interval = interval;
    }

    public void start() {
        timer.scheduleWithFixedDelay(this::tick, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        LOG.info("repair loop: replicas on nodes silent for {} s are re-placed", repairAfter.toSeconds());
    }

    void tick() {
        ClusterView view;
        try {
            view = views.get();
        } catch (BallastException e) {
            LOG.debug("repair loop: catalog not readable: {}", e.getMessage());
            return;
        }
        for (CatalogVolume v : view.state.getVolumesList()) {
            if (v.getState() != CatalogVolumeState.CATALOG_VOLUME_AVAILABLE) {
                continue;
            }
            List<String> dead = v.getPlacementList().stream()
                    .filter(n -> !view.up(n) && view.silentSeconds(n) * 1000 >= repairAfter.toMillis()).toList();
            try {
                if (dead.isEmpty()) {
                    boolean allUp = v.getPlacementList().stream().allMatch(view::up);
                    long staying = v.getPlacementList().stream().filter(n -> !view.evacuating(n)).count();
                    if (allUp && staying < v.getReplicas()) {
                        // A raised count, or a replica to re-create before evacuating its node.
                        if (addReplica(view, v)) {
                            return; // one at a time
                        }
                        continue; // waiting (said in its condition): the other volumes go on
                    }
                    if (allUp && v.getPlacementCount() > v.getReplicas()) {
                        if (removeReplica(view, v)) {
                            return;
                        }
                        continue;
                    }
                    if (!v.getRepair().isEmpty() && allUp) {
                        setRepair(v.getId(), "");
                    }
                    continue;
                }
                if (repair(view, v, dead.get(0))) {
                    return; // one at a time; the next tick sees the new catalog
                }
            } catch (BallastException | java.util.concurrent.CompletionException e) {
                failed.incrementAndGet();
                LOG.warn("repair of volume {} (replica on {}): {}", v.getId(), dead.isEmpty() ? "-" : dead.get(0),
                        e.getMessage());
                try {
                    setRepair(v.getId(), "failed, retrying: " + e.getMessage());
                } catch (BallastException ignored) {
                    // the catalog itself is unavailable: the next tick retries
                }
            }
        }
    }

    private boolean repair(ClusterView view, CatalogVolume v, String deadNode) {
        List<String> survivors = v.getPlacementList().stream().filter(view::up).toList();
        if (survivors.isEmpty()) {
            waiting(v, "waiting: no replica on a live node to copy from");
            return false;
        }
        String target;
        try {
            target = Placement.choose(view.candidates(), 1, v.getSizeBytes(), List.of(), List.of(),
                    new HashSet<>(v.getPlacementList()), Set.of()).get(0);
        } catch (BallastException e) {
            waiting(v, "waiting for a node to hold a new replica: " + e.getMessage());
            return false;
        }
        CatalogNode via = view.node(survivors.get(0)).orElseThrow();
        addMember(view, v, via, target, "replacing the replica on " + deadNode + " (down " + view.silentSeconds(deadNode)
                + " s) by one on " + target);
        nodes.call(via.getAdminAddress(), CatalogClusterBackend.CALL_DEADLINE, "remove " + deadNode + " from " + v.getId(),
                s -> s.removeReplica(RemoveReplicaRequest.newBuilder().setName(v.getId())
                        .setReplica(Peer.newBuilder().setNodeId(deadNode)).build()));
        List<String> placement = new ArrayList<>(v.getPlacementList());
        placement.set(placement.indexOf(deadNode), target);
        swapPlacement(v, placement);
        repaired.incrementAndGet();
        LOG.info("volume {}: replica re-placed from {} to {}; placement now {}", v.getId(), deadNode, target, placement);
        return true;
    }

    /**
     * One more replica for a volume whose replica count was raised (ModifyVolume): a new node is
     * chosen, added to the group through the leader's node (rebuilt by block copy, then it votes),
     * then recorded in the placement.
     */
    private boolean addReplica(ClusterView view, CatalogVolume v) {
        List<String> evacuating = v.getPlacementList().stream().filter(view::evacuating).toList();
        String target;
        try {
            target = Placement.choose(view.candidates(), 1, v.getSizeBytes(), List.of(), List.of(),
                    new HashSet<>(v.getPlacementList()), Set.of()).get(0);
        } catch (BallastException e) {
            waiting(v, "waiting for a node to hold " + (evacuating.isEmpty() ? "replica "
                    + (v.getPlacementCount() + 1) + " of " + v.getReplicas() : "the replica evacuated from " + evacuating)
                    + ": " + e.getMessage());
            return false;
        }
        CatalogNode via = view.node(view.leaderOf(v.getId()).orElse(v.getPlacement(0))).orElseThrow();
        addMember(view, v, via, target, evacuating.isEmpty() ? "adding a replica on " + target + " ("
                + v.getPlacementCount() + " -> " + v.getReplicas() + " replicas)"
                : "re-creating the replica on " + evacuating.get(0) + " (evacuating) on " + target);
        List<String> placement = new ArrayList<>(v.getPlacementList());
        placement.add(target);
        swapPlacement(v, placement);
        LOG.info("volume {}: replica added on {}; placement now {}", v.getId(), target, placement);
        return true;
    }

    /**
     * One replica fewer for a volume with more replicas than its count: an evacuating node's first
     * (its replica was re-created elsewhere), else the most recently placed, the leader's last.
     * Never one whose node has the volume attached (its frontend reads from it): an evacuating
     * node's replica waits for the detach (Kubernetes moves the pod when it drains the node).
     */
    private boolean removeReplica(ClusterView view, CatalogVolume v) {
        Set<String> attached = new HashSet<>();
        v.getAttachmentsList().forEach(a -> attached.add(a.getNodeId()));
        String leader = view.leaderOf(v.getId()).orElse(null);
        List<String> order = new ArrayList<>(v.getPlacementList());
        java.util.Collections.reverse(order);
        List<String> evacuating = v.getPlacementList().stream().filter(view::evacuating).toList();
        if (!evacuating.isEmpty() && attached.containsAll(evacuating)) {
            waiting(v, "waiting: the volume is attached on " + evacuating + ", which is evacuating; its"
                    + " replica there leaves once the volume is detached (a copy already exists on another node)");
            return false;
        }
        String victim = evacuating.stream().filter(n -> !attached.contains(n)).findFirst()
                .orElse(order.stream().filter(n -> !attached.contains(n) && !n.equals(leader)).findFirst()
                .orElse(order.stream().filter(n -> !attached.contains(n)).findFirst().orElse(null)));
        if (victim == null) {
            waiting(v, "waiting: every replica's node has the volume attached; detach one to go down to "
                    + v.getReplicas() + " replicas");
            return false;
        }
        String viaId = leader != null && !leader.equals(victim) ? leader
                : v.getPlacementList().stream().filter(n -> !n.equals(victim)).findFirst().orElseThrow();
        CatalogNode via = view.node(viaId).orElseThrow();
        CatalogNode gone = view.node(victim).orElseThrow();
        String what = view.evacuating(victim) ? "removing the replica on " + victim + " (evacuating; re-created on another node)"
                : "removing the replica on " + victim + " (" + v.getPlacementCount() + " -> " + v.getReplicas() + " replicas)";
        LOG.info("volume {}: {}", v.getId(), what);
        setRepair(v.getId(), what);
        nodes.call(via.getAdminAddress(), CatalogClusterBackend.CALL_DEADLINE, "remove " + victim + " from " + v.getId(),
                s -> s.removeReplica(RemoveReplicaRequest.newBuilder().setName(v.getId())
                        .setReplica(Peer.newBuilder().setNodeId(victim).setRaftAddress(gone.getRaftAddress())).build()));
        List<String> placement = new ArrayList<>(v.getPlacementList());
        placement.remove(victim);
        swapPlacement(v, placement);
        LOG.info("volume {}: replica on {} removed; placement now {}", v.getId(), victim, placement);
        return true;
    }

    /**
     * Adds {@code target} to the volume's group through {@code via}'s node (it is rebuilt by block
     * copy, then votes), with {@code what} and the copy's progress in the volume's repair field.
     * A target that is already a member (an earlier pass added it and failed after) is fine.
     */
    private void addMember(ClusterView view, CatalogVolume v, CatalogNode via, String target, String what) {
        CatalogNode to = view.node(target).orElseThrow();
        LOG.info("volume {}: {}", v.getId(), what);
        setRepair(v.getId(), what);
        var poll = progress.scheduleWithFixedDelay(() -> reportCopy(v.getId(), to, what), 2, 2, TimeUnit.SECONDS);
        try {
            nodes.call(via.getAdminAddress(), ADD_DEADLINE, "add a replica of " + v.getId() + " on " + target,
                    s -> s.addReplica(AddReplicaRequest.newBuilder().setName(v.getId())
                            .setReplica(Peer.newBuilder().setNodeId(target).setRaftAddress(to.getRaftAddress())).build()));
        } catch (BallastException e) {
            if (e.code() != io.ballast.engine.error.ErrorCode.ALREADY_EXISTS) {
                throw e;
            }
            LOG.info("volume {}: {} is already a member holding its replica; carrying on", v.getId(), target);
        } finally {
            poll.cancel(false);
        }
    }

    /** Records the new placement (compare and set against the one this pass read) and clears the repair field. */
    private void swapPlacement(CatalogVolume v, List<String> placement) {
        catalog.submit(CatalogCommand.newBuilder().setSetPlacement(SetPlacement.newBuilder().setVolumeId(v.getId())
                .addAllExpected(v.getPlacementList()).addAllPlacement(placement)).build());
        setRepair(v.getId(), "");
    }

    /** The new replica's block copy progress, as its node reports it. */
    private void reportCopy(String volumeId, CatalogNode target, String what) {
        try {
            var vol = nodes.call(target.getAdminAddress(), Duration.ofSeconds(5), "status of " + volumeId,
                    s -> s.getVolume(GetVolumeRequest.newBuilder().setName(volumeId).build())).getVolume();
            for (var r : vol.getReplicaStatusList()) {
                if (r.getNodeId().equals(target.getNodeId()) && r.getRebuildBytesTotal() > 0) {
                    setRepair(volumeId, what + ": copied " + (r.getRebuildBytesDone() >> 20) + " of "
                            + (r.getRebuildBytesTotal() >> 20) + " MiB");
                }
            }
        } catch (BallastException e) {
            LOG.debug("repair progress of {}: {}", volumeId, e.getMessage());
        }
    }

    /** Says why a volume waits, once: not a catalog write every tick while nothing changes. */
    private void waiting(CatalogVolume v, String why) {
        if (!v.getRepair().equals(why)) {
            setRepair(v.getId(), why);
        }
    }

    private void setRepair(String volumeId, String text) {
        catalog.submit(CatalogCommand.newBuilder().setSetRepair(SetRepair.newBuilder().setVolumeId(volumeId)
                .setRepair(text)).build());
    }

    @Override
    public void close() {
        timer.shutdownNow();
        progress.shutdownNow();
    }

}
