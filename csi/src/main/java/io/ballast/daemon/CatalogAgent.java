package io.ballast.daemon;

import io.ballast.engine.error.BallastException;
import io.ballast.proto.v1.AdmitNode;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogReply;
import io.ballast.proto.v1.CatalogState;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.CatalogVolumeState;
import io.ballast.proto.v1.RebuildProgress;
import io.ballast.replication.catalog.CatalogClient;
import io.ballast.replication.space.DiskLevel;
import io.ballast.replication.space.DiskSpace;
import io.ballast.replication.space.SpaceGuard;
import io.ballast.replication.tls.Admission;
import io.ballast.volumes.ReplicatedVolumes;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this node's record in the catalog fresh: a heartbeat (addresses, topology labels,
 * capacity and free space of the data directory, whether the disk is above its full ratio) every
 * {@link #INTERVAL}. The controller judges a node down when its heartbeat is older than its repair
 * threshold. The reply names the nodes whose disks are full, which this node's volume leaders use
 * to refuse writes a full majority could not store ({@link SpaceGuard}).
 *
 * <p>Threading: one scheduler thread. A failed heartbeat (no catalog quorum yet, e.g. while the
 * members start) is logged once per outage and retried on the next tick; it never stops the node.
 */
public final class CatalogAgent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogAgent.class);
    public static final Duration INTERVAL = Duration.ofSeconds(2);

    /** Deleted volumes are looked for every this many heartbeats. */
    private static final int CLEANUP_EVERY = 5;

    private final CatalogClient catalog;
    private final ReplicatedVolumes volumes;
    private final CatalogNode.Builder record;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("catalog-heartbeat").factory());
    private volatile boolean failing;
    private long beats;
    private final Admission admission;
    private final Supplier<Set<String>> admissible;

    public CatalogAgent(CatalogClient catalog, ReplicatedVolumes volumes, String nodeId, String adminAddress, String raftAddress,
            Map<String, String> labels) {
        this(catalog, volumes, nodeId, adminAddress, raftAddress, labels, null, Set::of);
    }

    /**
     * As above; {@code admission} (or null) learns the admitted nodes from every heartbeat reply,
     * and while this node leads the catalog it admits the catalog's members and the nodes
     * {@code admissible} names (in Kubernetes: those running the node plugin).
     */
    public CatalogAgent(CatalogClient catalog, ReplicatedVolumes volumes, String nodeId, String adminAddress, String raftAddress,
            Map<String, String> labels, Admission admission, Supplier<Set<String>> admissible) {
        this.admission = admission;
        this.admissible = admissible;
        this.catalog = catalog;
        this.volumes = volumes;
        this.record = CatalogNode.newBuilder().setNodeId(nodeId).setAdminAddress(adminAddress)
                .setRaftAddress(raftAddress).putAllLabels(labels);
    }

    public void start() {
        timer.scheduleWithFixedDelay(this::beat, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void beat() {
        admitWhileLeading();
        try {
            // The fullest filesystem under the data directory (raft/ and volumes/ may be mounted apart).
            SpaceGuard space = volumes.raft().space();
            DiskSpace.Reading disk = space.local().reading();
            CatalogNode.Builder n = record.clone().setCapacityBytes(disk.totalBytes())
                    .setFreeBytes(disk.freeBytes()).setFullRatio(space.local().watermarks().full())
                    .setHeartbeatMillis(System.currentTimeMillis());
            String diskFull = null;
            if (disk.level() != DiskLevel.NORMAL) {
                n.setDiskWarning(disk.describe());
            }
            if (disk.level() == DiskLevel.FULL) {
                n.setDiskFull(true);
                diskFull = "disk full on node " + record.getNodeId() + ": " + disk.describe() + ", above the full ratio "
                        + space.local().watermarks().full();
            }
            for (String name : volumes.names()) {
                n.addReplicas(name);
                try {
                    var status = volumes.status(name);
                    var integrity = status.integrity();
                    if (!integrity.healthy()) {
                        n.putDegradedReplicas(name, diskFull == null ? integrity.condition()
                                : integrity.condition() + "; " + diskFull);
                    } else if (diskFull != null) {
                        n.putDegradedReplicas(name, diskFull);
                    }
                    if (record.getNodeId().equals(status.leaderId())) {
                        n.addLeading(name);
                    }
                    if (status.rebuildBytesTotal() > 0 && status.rebuildBytesDone() < status.rebuildBytesTotal()) {
                        n.putRebuilds(name, RebuildProgress.newBuilder().setBytesDone(status.rebuildBytesDone())
                                .setBytesTotal(status.rebuildBytesTotal()).build());
                    }
                } catch (BallastException e) {
                    // removed meanwhile
                }
            }
            var reply = catalog.submit(CatalogCommand.newBuilder().setHeartbeat(n).build());
            if (admission != null) {
                admission.update(reply.getAdmittedNodesList());
            }
            space.peersFull(reply.getFullNodesList());
            volumes.raft().drain().reported(reply.getDrainedNodesList());
            if (beats++ % CLEANUP_EVERY == 0) {
                deleteLeftoverReplicas(n.getReplicasList());
            }
            if (failing) {
                LOG.info("catalog heartbeat of {} goes through again", n.getNodeId());
                failing = false;
            }
        } catch (BallastException e) {
            if (!failing) {
                LOG.warn("catalog heartbeat failed (retrying every {} s): {}", INTERVAL.toSeconds(), e.getMessage());
                failing = true;
            }
        } catch (RuntimeException e) {
            LOG.error("catalog heartbeat: unexpected error (retrying)", e);
        }
    }

    /**
     * The catalog's leader admits the catalog's own members (its configuration named them, and
     * nothing can be admitted before the catalog forms) and whatever {@code admissible} names:
     * one AdmitNode entry per node not admitted yet, read from the leader's own copy.
     */
    private void admitWhileLeading() {
        var member = volumes.raft().catalog();
        try {
            if (!member.leads()) {
                return;
            }
            Set<String> wanted = new TreeSet<>(member.members().keySet());
            wanted.addAll(admissible.get());
            wanted.removeAll(member.localCopy().getAdmittedNodesList());
            for (String id : wanted) {
                CatalogReply r = catalog.submit(CatalogCommand.newBuilder().setAdmitNode(AdmitNode.newBuilder().setNodeId(id)).build());
                if (!r.getExisted()) {
                    LOG.info("catalog: admitted node {} ({})", id, member.members().containsKey(id) ? "a catalog member"
                            : "named by the member source");
                }
            }
        } catch (BallastException e) {
            LOG.debug("admitting the catalog's members: {} (next heartbeat)", e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("admitting the catalog's members: unexpected error (retrying)", e);
        }
    }

    /**
     * Deletes local replicas the catalog says this node no longer holds, left behind while it was
     * down or unreachable: replicas of deleted volumes (tombstones; ids are never reused, so this
     * cannot hit a newer volume of the same name), and replicas the repair loop re-placed elsewhere
     * (the volume is available, no repair is running, and its placement leaves this node out; the
     * repair loop records its work before adding a node and clears it only after the placement
     * names the new node, so a replica being added is never taken for a leftover). Volumes the
     * catalog does not know (made through the admin API directly) are left alone.
     */
    private void deleteLeftoverReplicas(java.util.List<String> local) {
        CatalogState state = catalog.read();
        var deleted = new java.util.HashSet<>(state.getDeletedVolumeIdsList());
        java.util.Map<String, CatalogVolume> known = new java.util.HashMap<>();
        state.getVolumesList().forEach(v -> known.put(v.getId(), v));
        // Also the deleted volumes whose group runs here without a name (it never applied its
        // CREATE): groups() cannot list those, the group id can.
        java.util.Set<String> candidates = new java.util.LinkedHashSet<>(local);
        for (String id : deleted) {
            if (volumes.raft().hostsGroup(id)) {
                candidates.add(id);
            }
        }
        for (String name : candidates) {
            CatalogVolume v = known.get(name);
            String why = null;
            if (deleted.contains(name)) {
                why = "the volume was deleted while this node was away";
            } else if (v != null && v.getState() == CatalogVolumeState.CATALOG_VOLUME_AVAILABLE && v.getRepair().isEmpty()
                    && !v.getPlacementList().contains(record.getNodeId())) {
                why = "its replica was re-placed on " + v.getPlacementList() + " while this node was away";
            }
            if (why == null) {
                continue;
            }
            try {
                volumes.deleteLocalReplica(name);
                LOG.info("deleted the leftover replica of {}: {}", name, why);
            } catch (BallastException e) {
                LOG.warn("leftover replica of {} stays ({}): {}", name, why, e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        catalog.close();
    }
}
