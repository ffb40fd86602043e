package io.ballast.admin;

import io.ballast.cluster.EvacuationRoom;
import io.ballast.csi.GrpcErrors;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.NodeIdentity;
import io.ballast.proto.v1.AddReplicaRequest;
import io.ballast.proto.v1.AddReplicaResponse;
import io.ballast.proto.v1.AdmitNode;
import io.ballast.proto.v1.AdmitNodeRequest;
import io.ballast.proto.v1.AdmitNodeResponse;
import io.ballast.proto.v1.AttachVolumeRequest;
import io.ballast.proto.v1.AttachVolumeResponse;
import io.ballast.proto.v1.BackupProgress;
import io.ballast.proto.v1.BackupVolumeRequest;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogReply;
import io.ballast.proto.v1.CatalogState;
import io.ballast.proto.v1.CreateSnapshotRequest;
import io.ballast.proto.v1.CreateSnapshotResponse;
import io.ballast.proto.v1.CreateVolumeRequest;
import io.ballast.proto.v1.CreateVolumeResponse;
import io.ballast.proto.v1.DeleteSnapshotRequest;
import io.ballast.proto.v1.DeleteSnapshotResponse;
import io.ballast.proto.v1.DeleteVolumeRequest;
import io.ballast.proto.v1.DeleteVolumeResponse;
import io.ballast.proto.v1.DetachVolumeRequest;
import io.ballast.proto.v1.DetachVolumeResponse;
import io.ballast.proto.v1.GetClusterStateRequest;
import io.ballast.proto.v1.GetClusterStateResponse;
import io.ballast.proto.v1.GetNodeInfoRequest;
import io.ballast.proto.v1.GetNodeInfoResponse;
import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.proto.v1.GetVolumeResponse;
import io.ballast.proto.v1.ListSnapshotsRequest;
import io.ballast.proto.v1.ListSnapshotsResponse;
import io.ballast.proto.v1.ListVolumesRequest;
import io.ballast.proto.v1.ListVolumesResponse;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.proto.v1.NodeDrain;
import io.ballast.proto.v1.NodeInfo;
import io.ballast.proto.v1.Peer;
import io.ballast.proto.v1.RemoveReplicaRequest;
import io.ballast.proto.v1.RemoveReplicaResponse;
import io.ballast.proto.v1.ResizeVolumeRequest;
import io.ballast.proto.v1.ResizeVolumeResponse;
import io.ballast.proto.v1.RestoreVolumeRequest;
import io.ballast.proto.v1.ScrubVolumeRequest;
import io.ballast.proto.v1.ScrubVolumeResponse;
import io.ballast.proto.v1.SetDrain;
import io.ballast.proto.v1.SetNodeDrainRequest;
import io.ballast.proto.v1.SetNodeDrainResponse;
import io.ballast.proto.v1.SnapshotSource;
import io.ballast.proto.v1.TransferLeadershipRequest;
import io.ballast.proto.v1.TransferLeadershipResponse;
import io.ballast.replication.GroupSnapshots;
import io.ballast.replication.catalog.CatalogClient;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.volumes.ReplicatedVolumes;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node admin API ({@code ballast.v1.NodeAdmin}) over this node's {@link ReplicatedVolumes}.
 * Validates every request before it touches anything; domain errors become gRPC codes in
 * {@link GrpcErrors}. Each call is logged with its outcome.
 */
public final class NodeAdminService extends NodeAdminGrpc.NodeAdminImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(NodeAdminService.class);
    /** As the controller's default {@code --down-after}: a node silent longer cannot take a copy. */
    private static final Duration DOWN_AFTER = Duration.ofSeconds(30);

    private final ReplicatedVolumes volumes;
    private final NodeIdentity identity;
    private final Path dataDir;
    private final String version;
    /** The catalog this node belongs to, or null for a node started without {@code --catalog}. */
    private final CatalogClient catalog;
    private final java.util.Set<String> catalogMembers;
    private final VolumeDescriptions descriptions;
    private final BackupRpcs backups;

    public NodeAdminService(ReplicatedVolumes volumes, NodeIdentity identity, Path dataDir, String version,
            CatalogClient catalog) {
        this(volumes, identity, dataDir, version, catalog, java.util.Set.of());
    }

    /** {@code catalogMembers}: the node ids hosting the catalog (never revoked). */
    public NodeAdminService(ReplicatedVolumes volumes, NodeIdentity identity, Path dataDir, String version,
            CatalogClient catalog, java.util.Set<String> catalogMembers) {
        this.catalogMembers = java.util.Set.copyOf(catalogMembers);
        this.volumes = volumes;
        this.identity = identity;
        this.dataDir = dataDir;
        this.version = version;
        this.catalog = catalog;
        this.descriptions = new VolumeDescriptions(volumes);
        this.backups = new BackupRpcs(volumes, dataDir);
    }

    @Override
    public void getClusterState(GetClusterStateRequest request, StreamObserver<GetClusterStateResponse> out) {
        call("GetClusterState", "", out, () -> {
            if (catalog == null) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "node " + identity.nodeId()
                        + " was started without --catalog and knows no cluster; ask a node of a cluster");
            }
            return GetClusterStateResponse.newBuilder().setState(catalog.read())
                    .setNowMillis(System.currentTimeMillis()).setNodeId(identity.nodeId()).build();
        });
    }

    /**
     * A node into maintenance or out of it, recorded in the catalog; for EVACUATE only when every
     * volume on it has somewhere to go ({@link EvacuationRoom}). Down-ness is judged as the
     * controller's default {@code --down-after} does.
     */
    @Override
    public void setNodeDrain(SetNodeDrainRequest request, StreamObserver<SetNodeDrainResponse> out) {
        call("SetNodeDrain", request.getNodeId(), out, () -> {
            if (catalog == null) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "node " + identity.nodeId()
                        + " was started without --catalog and knows no cluster; ask a node of a cluster");
            }
            if (request.getNodeId().isEmpty()) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "name the node to drain (node_id is empty)");
            }
            if (request.getDrain() == NodeDrain.UNRECOGNIZED) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "unknown drain mode " + request.getDrainValue());
            }
            if (request.getDrain() == NodeDrain.NODE_DRAIN_EVACUATE) {
                CatalogState state = catalog.read();
                if (state.getNodesList().stream().noneMatch(n -> n.getNodeId().equals(request.getNodeId()))) {
                    throw new BallastException(ErrorCode.NOT_FOUND, "no node " + request.getNodeId()
                            + " has registered with the catalog");
                }
                EvacuationRoom.require(state, request.getNodeId(), System.currentTimeMillis(), DOWN_AFTER);
            }
            CatalogReply r = catalog.submit(CatalogCommand.newBuilder().setSetDrain(SetDrain.newBuilder()
                    .setNodeId(request.getNodeId()).setDrain(request.getDrain())).build());
            LOG.info("node {}: maintenance mode {} (asked through {})", request.getNodeId(), request.getDrain(),
                    identity.nodeId());
            return SetNodeDrainResponse.newBuilder().setChanged(!r.getExisted()).build();
        });
    }

    /**
     * Admits a node to the cluster's catalog or revokes it: operators only (with TLS), and never a
     * catalog member's revocation (its leader admits its members again at once).
     */
    @Override
    public void admitNode(AdmitNodeRequest request, StreamObserver<AdmitNodeResponse> out) {
        String verb = request.getRevoke() ? "revoke" : "admit";
        call("AdmitNode", request.getNodeId(), out, () -> {
            if (!io.ballast.tls.AdminCallers.callerIsOperator()) {
                throw new BallastException(ErrorCode.PERMISSION_DENIED, "to " + verb + " a node takes an operator's certificate "
                        + "('ballast certs issue --role operator', as the CLI's and the controller's are); this call came with a node's");
            }
            if (catalog == null) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "node " + identity.nodeId()
                        + " was started without --catalog and knows no cluster; ask a node of a cluster");
            }
            if (request.getNodeId().isEmpty()) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "name the node to " + verb + " (node_id is empty)");
            }
            if (request.getRevoke() && catalogMembers.contains(request.getNodeId())) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "node " + request.getNodeId() + " hosts the catalog "
                        + "(a member is admitted by the catalog's leader); take it out of the catalog's members first");
            }
            CatalogReply r = catalog.submit(CatalogCommand.newBuilder().setAdmitNode(AdmitNode.newBuilder()
                    .setNodeId(request.getNodeId()).setRevoke(request.getRevoke())).build());
            if (!r.getExisted()) {
                LOG.info("node {} {} (asked through {})", request.getNodeId(), request.getRevoke() ? "revoked" : "admitted",
                        identity.nodeId());
            }
            return AdmitNodeResponse.newBuilder().setExisted(r.getExisted()).build();
        });
    }

    @Override
    public void getNodeInfo(GetNodeInfoRequest request, StreamObserver<GetNodeInfoResponse> out) {
        call("GetNodeInfo", "", out, () -> {
            long capacity;
            long free;
            try {
                var store = Files.getFileStore(dataDir);
                capacity = store.getTotalSpace();
                free = store.getUsableSpace();
            } catch (java.io.IOException e) {
                throw new BallastException(ErrorCode.IO_ERROR, "cannot stat " + dataDir + ": " + e.getMessage(), e);
            }
            return GetNodeInfoResponse.newBuilder().setNode(NodeInfo.newBuilder()
                    .setNodeId(identity.nodeId()).setClusterId(identity.clusterId()).setVersion(version)
                    .setDataDir(dataDir.toString()).setCapacityBytes(capacity).setFreeBytes(free)).build();
        });
    }

    @Override
    public void createVolume(CreateVolumeRequest request, StreamObserver<CreateVolumeResponse> out) {
        call("CreateVolume", request.getName(), out, () -> {
            AdminArguments.checkName(request.getName());
            long size = request.getSizeBytes();
            if (size <= 0 || size % 4096 != 0) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT,
                        "size_bytes must be a positive multiple of 4096, got " + size);
            }
            Map<String, String> peers = AdminArguments.peers(request.getPeersList());
            if (request.getReplicas() != 0 && !peers.isEmpty() && request.getReplicas() != peers.size()) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "replicas=" + request.getReplicas()
                        + " but " + peers.size() + " peers given; a node places replicas only where told (the catalog will choose later)");
            }
            if (peers.size() > 5) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "at most 5 replicas, got " + peers.size());
            }
            boolean created;
            if (request.hasSource()) {
                SnapshotSource src = request.getSource();
                AdminArguments.checkName(src.getVolume());
                AdminArguments.checkSnapshotId(src.getSnapshotId());
                created = volumes.createClone(request.getName(), size, peers, src.getVolume(), src.getSnapshotId());
            } else {
                created = volumes.create(request.getName(), size, peers);
            }
            return CreateVolumeResponse.newBuilder().setCreated(created).setVolume(descriptions.volume(request.getName())).build();
        });
    }

    @Override
    public void deleteVolume(DeleteVolumeRequest request, StreamObserver<DeleteVolumeResponse> out) {
        call("DeleteVolume", request.getName(), out, () -> {
            AdminArguments.checkName(request.getName());
            volumes.deleteLocalReplica(request.getName());
            return DeleteVolumeResponse.getDefaultInstance();
        });
    }

    @Override
    public void listVolumes(ListVolumesRequest request, StreamObserver<ListVolumesResponse> out) {
        call("ListVolumes", "", out, () -> {
            List<String> names = volumes.names();
            int start = 0;
            if (!request.getPageToken().isEmpty()) {
                start = names.indexOf(request.getPageToken());
                if (start < 0) {
                    throw new BallastException(ErrorCode.INVALID_ARGUMENT, "unknown page_token '" + request.getPageToken() + "'");
                }
            }
            int size = request.getPageSize() <= 0 ? 100 : Math.min(request.getPageSize(), 1000);
            ListVolumesResponse.Builder b = ListVolumesResponse.newBuilder();
            for (int i = start; i < names.size() && i < start + size; i++) {
                b.addVolumes(descriptions.volume(names.get(i)));
            }
            if (start + size < names.size()) {
                b.setNextPageToken(names.get(start + size));
            }
            return b.build();
        });
    }

    @Override
    public void getVolume(GetVolumeRequest request, StreamObserver<GetVolumeResponse> out) {
        call("GetVolume", request.getName(), out, () -> {
            AdminArguments.checkName(request.getName());
            return GetVolumeResponse.newBuilder().setVolume(descriptions.volume(request.getName())).build();
        });
    }

    @Override
    public void resizeVolume(ResizeVolumeRequest request, StreamObserver<ResizeVolumeResponse> out) {
        call("ResizeVolume", request.getName(), out, () -> {
            AdminArguments.checkName(request.getName());
            volumes.resize(request.getName(), request.getSizeBytes());
            return ResizeVolumeResponse.newBuilder().setVolume(descriptions.volume(request.getName())).build();
        });
    }

    @Override
    public void attachVolume(AttachVolumeRequest request, StreamObserver<AttachVolumeResponse> out) {
        call("AttachVolume", request.getName(), out, () -> {
            AdminArguments.checkName(request.getName());
            java.util.Map<String, String> peers = new java.util.LinkedHashMap<>();
            request.getPeersList().forEach(p -> peers.put(p.getNodeId(), p.getRaftAddress()));
            ReplicatedBlockVolume v = volumes.attach(request.getName(), peers, request.getShared());
            return AttachVolumeResponse.newBuilder().setVolume(descriptions.volume(request.getName()))
                    .setNbdUri(volumes.nbdUri(request.getName())).setWriterEpoch(volumes.epochOf(request.getName())).build();
        });
    }

    @Override
    public void detachVolume(DetachVolumeRequest request, StreamObserver<DetachVolumeResponse> out) {
        call("DetachVolume", request.getName(), out, () -> {
            AdminArguments.checkName(request.getName());
            volumes.detach(request.getName());
            return DetachVolumeResponse.getDefaultInstance();
        });
    }

    @Override
    public void transferLeadership(TransferLeadershipRequest request, StreamObserver<TransferLeadershipResponse> out) {
        call("TransferLeadership", request.getName(), out, () -> {
            AdminArguments.checkName(request.getName());
            if (!AdminArguments.isNodeId(request.getTargetNodeId())) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "target_node_id '" + request.getTargetNodeId() + "' is not a node id");
            }
            volumes.transferLeadership(request.getName(), request.getTargetNodeId());
            return TransferLeadershipResponse.getDefaultInstance();
        });
    }

    @Override
    public void addReplica(AddReplicaRequest request, StreamObserver<AddReplicaResponse> out) {
        call("AddReplica", request.getName() + " + " + request.getReplica().getNodeId(), out, () -> {
            AdminArguments.checkName(request.getName());
            Peer p = AdminArguments.checkPeer(request.getReplica(), true);
            boolean added = volumes.addReplica(request.getName(), p.getNodeId(), p.getRaftAddress());
            return AddReplicaResponse.newBuilder().setRejoined(!added).setVolume(descriptions.volume(request.getName())).build();
        });
    }

    @Override
    public void removeReplica(RemoveReplicaRequest request, StreamObserver<RemoveReplicaResponse> out) {
        call("RemoveReplica", request.getName() + " - " + request.getReplica().getNodeId(), out, () -> {
            AdminArguments.checkName(request.getName());
            Peer p = AdminArguments.checkPeer(request.getReplica(), false);
            String cleanupError = volumes.removeReplica(request.getName(), p.getNodeId(), p.getRaftAddress());
            RemoveReplicaResponse.Builder b = RemoveReplicaResponse.newBuilder().setDataDeleted(cleanupError == null)
                    .setCleanupError(cleanupError == null ? "" : cleanupError);
            if (volumes.hosts(request.getName())) { // not when this node removed itself
                b.setVolume(descriptions.volume(request.getName()));
            }
            return b.build();
        });
    }

    @Override
    public void scrubVolume(ScrubVolumeRequest request, StreamObserver<ScrubVolumeResponse> out) {
        call("ScrubVolume", request.getName(), out, () -> {
            AdminArguments.checkName(request.getName());
            volumes.scrub(request.getName());
            return ScrubVolumeResponse.newBuilder().setVolume(descriptions.volume(request.getName())).build();
        });
    }

    @Override
    public void createSnapshot(CreateSnapshotRequest request, StreamObserver<CreateSnapshotResponse> out) {
        call("CreateSnapshot", request.getVolume() + "@" + request.getSnapshotId(), out, () -> {
            AdminArguments.checkName(request.getVolume());
            AdminArguments.checkSnapshotId(request.getSnapshotId());
            GroupSnapshots.Created c = volumes.snapshots().create(request.getVolume(), request.getSnapshotId());
            return CreateSnapshotResponse.newBuilder().setCreated(c.created()).setSnapshot(descriptions.snapshot(c.snapshot())).build();
        });
    }

    @Override
    public void deleteSnapshot(DeleteSnapshotRequest request, StreamObserver<DeleteSnapshotResponse> out) {
        call("DeleteSnapshot", request.getVolume() + "@" + request.getSnapshotId(), out, () -> {
            AdminArguments.checkName(request.getVolume());
            AdminArguments.checkSnapshotId(request.getSnapshotId());
            volumes.snapshots().delete(request.getVolume(), request.getSnapshotId());
            return DeleteSnapshotResponse.getDefaultInstance();
        });
    }

    @Override
    public void listSnapshots(ListSnapshotsRequest request, StreamObserver<ListSnapshotsResponse> out) {
        call("ListSnapshots", request.getVolume(), out, () -> {
            AdminArguments.checkName(request.getVolume());
            ListSnapshotsResponse.Builder b = ListSnapshotsResponse.newBuilder();
            volumes.snapshots().list(request.getVolume()).forEach(s -> b.addSnapshots(descriptions.snapshot(s)));
            return b.build();
        });
    }

    private static final io.ballast.engine.logging.LogThrottle FAILURES =
            new io.ballast.engine.logging.LogThrottle(java.time.Duration.ofMinutes(1));

    /** Calls that change nothing: their successes log at DEBUG. */
    private static final java.util.Set<String> READS = java.util.Set.of("GetNodeInfo", "GetVolume", "ListVolumes",
            "GetClusterState", "ListSnapshots");

    @Override
    public void backupVolume(BackupVolumeRequest request, StreamObserver<BackupProgress> out) {
        backups.backup(request, out);
    }

    @Override
    public void restoreVolume(RestoreVolumeRequest request, StreamObserver<BackupProgress> out) {
        backups.restore(request, out);
    }

    private static <T> void call(String rpc, String subject, StreamObserver<T> out, Supplier<T> body) {
        try {
            T reply = body.get();
            if (READS.contains(rpc)) {
                LOG.debug("{}({}) ok", rpc, subject); // polled by status views and tests: not worth a line each
            } else {
                LOG.info("{}({}) ok", rpc, subject);
            }
            out.onNext(reply);
            out.onCompleted();
        } catch (RuntimeException e) {
            var status = GrpcErrors.toStatus(e);
            String suffix = FAILURES.admit(rpc + " " + subject + " " + status.getStatus().getCode() + " "
                    + status.getStatus().getDescription());
            if (suffix != null) { // the same failure, retried by the controller or a script: a line a minute
                LOG.info("{}({}) -> {}: {}{}", rpc, subject, status.getStatus().getCode(), status.getStatus().getDescription(),
                        suffix);
            }
            out.onError(status);
        }
    }
}
