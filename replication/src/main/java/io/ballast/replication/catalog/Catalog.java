package io.ballast.replication.catalog;

import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.AdmitNode;
import io.ballast.proto.v1.CatalogAttachment;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogReply;
import io.ballast.proto.v1.CatalogSnapshot;
import io.ballast.proto.v1.CatalogState;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.CatalogVolumeState;
import io.ballast.proto.v1.NodeDrain;
import io.ballast.proto.v1.Publish;
import io.ballast.proto.v1.SetDrain;
import io.ballast.proto.v1.SetPlacement;
import io.ballast.proto.v1.SetReplicas;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The catalog's records and the rules that change them, without Raft: {@link #apply} is the
 * deterministic transition function every catalog replica runs on every committed command, so a
 * refused command (its reply carries the error) changes nothing on any replica.
 *
 * <p>Threading: synchronised; {@link #state()} is a consistent copy. Never throws on bad input: a
 * malformed command gets an INVALID_ARGUMENT reply.
 */
public final class Catalog {
    /**
     * A volume's source snapshot with this prefix is a backup in object storage (the controller's
     * BackupOps), not a snapshot this catalog records.
     */
    public static final String BACKUP_SOURCE_PREFIX = "backup:";
    /** The most replicas a volume may have (the CSI parameter's bound). */
    static final int MAX_REPLICAS = 5;
    private final Map<String, CatalogNode> nodes = new TreeMap<>();
    private final Map<String, CatalogVolume> volumes = new TreeMap<>();
    private final Map<String, CatalogSnapshot> snapshots = new TreeMap<>();
    /** Deleted volume ids, oldest first, at most {@link #MAX_TOMBSTONES}. */
    private final java.util.LinkedHashSet<String> deleted = new java.util.LinkedHashSet<>();
    static final int MAX_TOMBSTONES = 1024;
    /** The node ids admitted to the cluster: only theirs heartbeats are recorded. */
    private final java.util.TreeSet<String> admitted = new java.util.TreeSet<>();

    public synchronized CatalogState state() {
        return CatalogState.newBuilder().addAllNodes(nodes.values()).addAllVolumes(volumes.values())
                .addAllSnapshots(snapshots.values()).addAllDeletedVolumeIds(deleted).addAllAdmittedNodes(admitted).build();
    }

    /** Replaces every record (a snapshot being loaded). */
    public synchronized void restore(CatalogState state) {
        nodes.clear();
        volumes.clear();
        snapshots.clear();
        deleted.clear();
        deleted.addAll(state.getDeletedVolumeIdsList());
        admitted.clear();
        admitted.addAll(state.getAdmittedNodesList());
        state.getNodesList().forEach(n -> nodes.put(n.getNodeId(), n));
        state.getVolumesList().forEach(v -> volumes.put(v.getId(), v));
        state.getSnapshotsList().forEach(s -> snapshots.put(s.getId(), s));
    }

    public synchronized CatalogReply apply(CatalogCommand c) {
        return switch (c.getCommandCase()) {
            case HEARTBEAT -> heartbeat(c.getHeartbeat());
            case CREATE_VOLUME -> createVolume(c.getCreateVolume());
            case SET_VOLUME_STATE -> withVolume(c.getSetVolumeState().getVolumeId(),
                    v -> ok(put(v.toBuilder().setState(c.getSetVolumeState().getState()).build())));
            case DELETE_VOLUME -> deleteVolume(c.getDeleteVolume());
            case SET_VOLUME_SIZE -> withVolume(c.getSetVolumeSize().getVolumeId(), v -> ok(put(
                    v.toBuilder().setSizeBytes(Math.max(v.getSizeBytes(), c.getSetVolumeSize().getSizeBytes())).build())));
            case PUBLISH -> publish(c.getPublish());
            case UNPUBLISH -> withVolume(c.getUnpublish().getVolumeId(), v -> {
                List<CatalogAttachment> keep = new ArrayList<>();
                for (CatalogAttachment a : v.getAttachmentsList()) {
                    if (!c.getUnpublish().getNodeId().isEmpty() && !a.getNodeId().equals(c.getUnpublish().getNodeId())) {
                        keep.add(a);
                    }
                }
                return ok(put(v.toBuilder().clearAttachments().addAllAttachments(keep).build()));
            });
            case CREATE_SNAPSHOT -> createSnapshot(c.getCreateSnapshot());
            case SET_SNAPSHOT_READY -> {
                CatalogSnapshot s = snapshots.get(c.getSetSnapshotReady().getSnapshotId());
                if (s == null) {
                    yield error(ErrorCode.NOT_FOUND, "no snapshot " + c.getSetSnapshotReady().getSnapshotId());
                }
                s = s.toBuilder().setReady(true).build();
                snapshots.put(s.getId(), s);
                yield CatalogReply.newBuilder().setSnapshot(s).build();
            }
            case DELETE_SNAPSHOT -> {
                CatalogSnapshot s = snapshots.remove(c.getDeleteSnapshot());
                yield s == null ? CatalogReply.newBuilder().setExisted(false).build()
                        : CatalogReply.newBuilder().setSnapshot(s).setExisted(true).build();
            }
            case SET_PLACEMENT -> setPlacement(c.getSetPlacement());
            case SET_REPLICAS -> setReplicas(c.getSetReplicas());
            case SET_DRAIN -> setDrain(c.getSetDrain());
            case ADMIT_NODE -> admitNode(c.getAdmitNode());
            case SET_REPAIR -> withVolume(c.getSetRepair().getVolumeId(),
                    v -> ok(put(v.toBuilder().setRepair(c.getSetRepair().getRepair()).build())));
            case COMMAND_NOT_SET -> error(ErrorCode.INVALID_ARGUMENT, "empty catalog command");
        };
    }

    private CatalogReply heartbeat(CatalogNode n) {
        if (n.getNodeId().isEmpty() || n.getAdminAddress().isEmpty() || n.getRaftAddress().isEmpty()) {
            return error(ErrorCode.INVALID_ARGUMENT, "a node record needs node_id, admin_address and raft_address");
        }
        if (!admitted.contains(n.getNodeId())) {
            return error(ErrorCode.PERMISSION_DENIED, "node " + n.getNodeId() + " is not admitted to this cluster: an operator "
                    + "admits it with 'ballast node admit " + n.getNodeId() + "' (the catalog's members are admitted by its leader)");
        }
        CatalogNode old = nodes.get(n.getNodeId());
        if (old != null && old.getHeartbeatMillis() > n.getHeartbeatMillis()) {
            n = n.toBuilder().setHeartbeatMillis(old.getHeartbeatMillis()).build(); // a late, reordered heartbeat
        }
        // The maintenance mode is the operator's (SET_DRAIN), not the node's to report.
        n = n.toBuilder().setDrain(old == null ? NodeDrain.NODE_DRAIN_NONE : old.getDrain())
                .setDrainFromCordon(old != null && old.getDrainFromCordon()).build();
        nodes.put(n.getNodeId(), n);
        CatalogReply.Builder reply = CatalogReply.newBuilder().setExisted(old != null);
        nodes.values().stream().filter(CatalogNode::getDiskFull).map(CatalogNode::getNodeId).sorted()
                .forEach(reply::addFullNodes);
        nodes.values().stream().filter(x -> x.getDrain() != NodeDrain.NODE_DRAIN_NONE).map(CatalogNode::getNodeId)
                .sorted().forEach(reply::addDrainedNodes);
        return reply.addAllAdmittedNodes(admitted).build();
    }

    /**
     * Admission: an admitted node may register and be placed on, and the nodes serve its calls.
     * A revoked node's record goes too, but not while a volume is placed or attached on it: its
     * replicas would be cut off without being moved (drain it with --evacuate first).
     */
    private CatalogReply admitNode(AdmitNode a) {
        String id = a.getNodeId();
        if (id.isEmpty()) {
            return error(ErrorCode.INVALID_ARGUMENT, "admitting or revoking a node needs its node id");
        }
        if (!a.getRevoke()) {
            return CatalogReply.newBuilder().setExisted(!admitted.add(id)).build();
        }
        if (!admitted.contains(id)) {
            return CatalogReply.newBuilder().setExisted(true).build();
        }
        for (CatalogVolume v : volumes.values()) {
            if (v.getPlacementList().contains(id) || v.getAttachmentsList().stream().anyMatch(t -> t.getNodeId().equals(id))) {
                return error(ErrorCode.FAILED_PRECONDITION, "node " + id + " still holds volume " + v.getName() + " (" + v.getId()
                        + "): move its replicas off first ('ballast node drain " + id + " --evacuate'), then revoke it");
            }
        }
        admitted.remove(id);
        nodes.remove(id);
        return CatalogReply.getDefaultInstance();
    }

    private CatalogReply createVolume(CatalogVolume v) {
        if (v.getId().isEmpty() || v.getName().isEmpty() || v.getSizeBytes() <= 0 || v.getReplicas() < 1
                || v.getPlacementCount() != v.getReplicas()) {
            return error(ErrorCode.INVALID_ARGUMENT, "a volume record needs id, name, a positive size and one placement per replica");
        }
        CatalogVolume existing = byName(v.getName());
        if (existing == null) {
            existing = volumes.get(v.getId());
        }
        if (existing != null) {
            if (sameRequest(existing, v)) {
                return CatalogReply.newBuilder().setVolume(existing).setExisted(true).build();
            }
            return error(ErrorCode.ALREADY_EXISTS, "volume " + existing.getName() + " (id " + existing.getId()
                    + ") exists with other parameters: " + existing.getSizeBytes() + " bytes, " + existing.getReplicas()
                    + " replicas, parameters " + existing.getParametersMap());
        }
        if (!v.getSourceSnapshotId().isEmpty() && !v.getSourceSnapshotId().startsWith(BACKUP_SOURCE_PREFIX)
                && !snapshots.containsKey(v.getSourceSnapshotId())) {
            return error(ErrorCode.NOT_FOUND, "source snapshot " + v.getSourceSnapshotId() + " does not exist");
        }
        if (!v.getSourceVolumeId().isEmpty() && !volumes.containsKey(v.getSourceVolumeId())) {
            return error(ErrorCode.NOT_FOUND, "source volume " + v.getSourceVolumeId() + " does not exist");
        }
        return ok(put(v.toBuilder().setState(CatalogVolumeState.CATALOG_VOLUME_CREATING).clearAttachments().build()));
    }

    /** The same create request again: name, id, size, replicas, parameters and source. */
    private static boolean sameRequest(CatalogVolume a, CatalogVolume b) {
        return a.getId().equals(b.getId()) && a.getName().equals(b.getName()) && a.getSizeBytes() == b.getSizeBytes()
                && a.getReplicas() == b.getReplicas() && a.getParametersMap().equals(b.getParametersMap())
                && a.getSourceSnapshotId().equals(b.getSourceSnapshotId())
                && a.getSourceVolumeId().equals(b.getSourceVolumeId());
    }

    private CatalogReply deleteVolume(String id) {
        CatalogVolume v = volumes.get(id);
        if (v == null) {
            return CatalogReply.newBuilder().setExisted(false).build();
        }
        if (v.getAttachmentsCount() > 0) {
            return error(ErrorCode.FAILED_PRECONDITION, "volume " + id + " is published on node "
                    + v.getAttachments(0).getNodeId() + "; unpublish it first");
        }
        for (CatalogSnapshot s : snapshots.values()) {
            if (s.getSourceVolumeId().equals(id)) {
                return error(ErrorCode.FAILED_PRECONDITION, "volume " + id + " has snapshot " + s.getId()
                        + " (snapshots live on the volume's replicas); delete its snapshots first");
            }
        }
        volumes.remove(id);
        deleted.add(id);
        if (deleted.size() > MAX_TOMBSTONES) {
            deleted.remove(deleted.iterator().next());
        }
        return CatalogReply.newBuilder().setVolume(v).setExisted(true).build();
    }

    private CatalogReply publish(Publish p) {
        CatalogVolume v = volumes.get(p.getVolumeId());
        if (v == null) {
            return error(ErrorCode.NOT_FOUND, "volume " + p.getVolumeId() + " does not exist");
        }
        CatalogAttachment want = p.getAttachment();
        if (!nodes.containsKey(want.getNodeId())) {
            return error(ErrorCode.NOT_FOUND, "node " + want.getNodeId() + " is not registered");
        }
        if (v.getState() != CatalogVolumeState.CATALOG_VOLUME_AVAILABLE) {
            return error(ErrorCode.FAILED_PRECONDITION, "volume " + v.getId() + " is " + v.getState() + ", not available");
        }
        for (CatalogAttachment a : v.getAttachmentsList()) {
            if (a.getNodeId().equals(want.getNodeId())) {
                if (a.equals(want)) {
                    return CatalogReply.newBuilder().setVolume(v).setExisted(true).build();
                }
                return error(ErrorCode.ALREADY_EXISTS, "volume " + v.getId() + " is already published on "
                        + a.getNodeId() + " with readonly=" + a.getReadonly() + ", exclusive=" + a.getExclusive());
            }
            if (a.getExclusive() || want.getExclusive()) {
                return error(ErrorCode.FAILED_PRECONDITION, "volume " + v.getId() + " is published on node "
                        + a.getNodeId() + " with a single-node access mode; unpublish it there first");
            }
        }
        return ok(put(v.toBuilder().addAttachments(want).build()));
    }

    private CatalogReply createSnapshot(CatalogSnapshot s) {
        if (s.getId().isEmpty() || s.getName().isEmpty() || s.getSourceVolumeId().isEmpty()) {
            return error(ErrorCode.INVALID_ARGUMENT, "a snapshot record needs id, name and source volume");
        }
        for (CatalogSnapshot e : snapshots.values()) {
            if (e.getName().equals(s.getName()) || e.getId().equals(s.getId())) {
                if (e.getSourceVolumeId().equals(s.getSourceVolumeId())) {
                    return CatalogReply.newBuilder().setSnapshot(e).setExisted(true).build();
                }
                return error(ErrorCode.ALREADY_EXISTS, "snapshot " + e.getName() + " exists for volume "
                        + e.getSourceVolumeId() + ", not " + s.getSourceVolumeId());
            }
        }
        CatalogVolume v = volumes.get(s.getSourceVolumeId());
        if (v == null) {
            return error(ErrorCode.NOT_FOUND, "source volume " + s.getSourceVolumeId() + " does not exist");
        }
        s = s.toBuilder().setReady(false).setSizeBytes(v.getSizeBytes()).build();
        snapshots.put(s.getId(), s);
        return CatalogReply.newBuilder().setSnapshot(s).build();
    }

    private CatalogReply setPlacement(SetPlacement p) {
        return withVolume(p.getVolumeId(), v -> {
            if (!v.getPlacementList().equals(p.getExpectedList())) {
                return error(ErrorCode.FAILED_PRECONDITION, "placement of " + v.getId() + " is " + v.getPlacementList()
                        + ", not the expected " + p.getExpectedList() + " (changed concurrently)");
            }
            return ok(put(v.toBuilder().clearPlacement().addAllPlacement(p.getPlacementList()).build()));
        });
    }

    private CatalogReply setReplicas(SetReplicas r) {
        if (r.getReplicas() < 1 || r.getReplicas() > MAX_REPLICAS) {
            return error(ErrorCode.INVALID_ARGUMENT, "a volume has 1.." + MAX_REPLICAS + " replicas, not " + r.getReplicas());
        }
        return withVolume(r.getVolumeId(), v -> {
            if (v.getState() != CatalogVolumeState.CATALOG_VOLUME_AVAILABLE) {
                return error(ErrorCode.FAILED_PRECONDITION, "volume " + v.getId() + " is " + v.getState()
                        + "; its replica count changes once it is available");
            }
            if (v.getReplicas() == r.getReplicas()) {
                return CatalogReply.newBuilder().setVolume(v).setExisted(true).build();
            }
            return ok(put(v.toBuilder().setReplicas(r.getReplicas()).build()));
        });
    }

    /**
     * An operator's mode always applies and becomes theirs. A cordon's (from the node plugin)
     * drains only a node no one drained, and an uncordon lifts only a cordon's drain: a node an
     * operator drained stays drained through a cordon and uncordon.
     */
    private CatalogReply setDrain(SetDrain d) {
        CatalogNode n = nodes.get(d.getNodeId());
        if (n == null) {
            return error(ErrorCode.NOT_FOUND, "no node " + d.getNodeId() + " has registered with the catalog");
        }
        if (d.getDrain() == NodeDrain.UNRECOGNIZED) {
            return error(ErrorCode.INVALID_ARGUMENT, "unknown drain mode for node " + d.getNodeId());
        }
        boolean fromCordon;
        if (!d.getCordon()) {
            fromCordon = false;
        } else if (d.getDrain() == NodeDrain.NODE_DRAIN_NONE) {
            if (!n.getDrainFromCordon()) {
                return CatalogReply.newBuilder().setExisted(true).build(); // not the cordon's to lift
            }
            fromCordon = false;
        } else {
            if (n.getDrain() != NodeDrain.NODE_DRAIN_NONE) {
                return CatalogReply.newBuilder().setExisted(true).build(); // already drained, by whoever
            }
            fromCordon = true;
        }
        if (n.getDrain() == d.getDrain() && n.getDrainFromCordon() == fromCordon) {
            return CatalogReply.newBuilder().setExisted(true).build();
        }
        nodes.put(n.getNodeId(), n.toBuilder().setDrain(d.getDrain()).setDrainFromCordon(fromCordon).build());
        return CatalogReply.getDefaultInstance();
    }

    private CatalogVolume byName(String name) {
        for (CatalogVolume v : volumes.values()) {
            if (v.getName().equals(name)) {
                return v;
            }
        }
        return null;
    }

    private CatalogVolume put(CatalogVolume v) {
        volumes.put(v.getId(), v);
        return v;
    }

    private CatalogReply withVolume(String id, java.util.function.Function<CatalogVolume, CatalogReply> f) {
        CatalogVolume v = volumes.get(id);
        return v == null ? error(ErrorCode.NOT_FOUND, "volume " + id + " does not exist") : f.apply(v);
    }

    private static CatalogReply ok(CatalogVolume v) {
        return CatalogReply.newBuilder().setVolume(v).build();
    }

    private static CatalogReply error(ErrorCode code, String message) {
        return CatalogReply.newBuilder().setErrorCode(code.name()).setMessage(message).build();
    }
}
