package io.ballast.csi.controller;

import io.ballast.backup.BackupTargets;
import io.ballast.cluster.ClusterBackend;
import io.ballast.cluster.ClusterBackend.VolumeRecord;
import io.ballast.cluster.ClusterBackend.VolumeSpec;
import io.ballast.csi.CsiCalls;
import io.ballast.csi.InFlight;
import io.ballast.csi.Topologies;
import io.ballast.csi.VolumeCapabilities;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.ControllerExpandVolumeRequest;
import io.ballast.proto.csi.v1.ControllerExpandVolumeResponse;
import io.ballast.proto.csi.v1.ControllerGetCapabilitiesRequest;
import io.ballast.proto.csi.v1.ControllerGetCapabilitiesResponse;
import io.ballast.proto.csi.v1.ControllerGetVolumeRequest;
import io.ballast.proto.csi.v1.ControllerGetVolumeResponse;
import io.ballast.proto.csi.v1.ControllerGrpc;
import io.ballast.proto.csi.v1.ControllerModifyVolumeRequest;
import io.ballast.proto.csi.v1.ControllerModifyVolumeResponse;
import io.ballast.proto.csi.v1.ControllerPublishVolumeRequest;
import io.ballast.proto.csi.v1.ControllerPublishVolumeResponse;
import io.ballast.proto.csi.v1.ControllerServiceCapability;
import io.ballast.proto.csi.v1.ControllerServiceCapability.RPC.Type;
import io.ballast.proto.csi.v1.ControllerUnpublishVolumeRequest;
import io.ballast.proto.csi.v1.ControllerUnpublishVolumeResponse;
import io.ballast.proto.csi.v1.CreateSnapshotRequest;
import io.ballast.proto.csi.v1.CreateSnapshotResponse;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.CreateVolumeResponse;
import io.ballast.proto.csi.v1.DeleteSnapshotRequest;
import io.ballast.proto.csi.v1.DeleteSnapshotResponse;
import io.ballast.proto.csi.v1.DeleteVolumeRequest;
import io.ballast.proto.csi.v1.DeleteVolumeResponse;
import io.ballast.proto.csi.v1.GetCapacityRequest;
import io.ballast.proto.csi.v1.GetCapacityResponse;
import io.ballast.proto.csi.v1.ListSnapshotsRequest;
import io.ballast.proto.csi.v1.ListSnapshotsResponse;
import io.ballast.proto.csi.v1.ListVolumesRequest;
import io.ballast.proto.csi.v1.ListVolumesResponse;
import io.ballast.proto.csi.v1.Topology;
import io.ballast.proto.csi.v1.ValidateVolumeCapabilitiesRequest;
import io.ballast.proto.csi.v1.ValidateVolumeCapabilitiesResponse;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The CSI Controller service over a {@link ClusterBackend}. Handlers are named as the RPCs, with a
 * link to the spec section above each.
 *
 * <p>Every handler validates its whole request before it touches the backend (bad input changes
 * nothing and costs no catalog round trip), then takes the {@link InFlight} keys of what it mutates
 * (volume id, or the volume/snapshot name being created): a concurrent operation on the same key is
 * ABORTED at once. Domain errors from the backend keep their code; the translation to gRPC codes is
 * {@link io.ballast.csi.GrpcErrors}, applied by {@link CsiCalls}. Secrets are never read.
 *
 * <p>Threading: handlers run on gRPC executor threads, any number at once; the service keeps no
 * state besides the in-flight set, and the backend is thread-safe. Snapshot RPCs are delegated to
 * {@link SnapshotRpcs}, validation of CreateVolume to {@link CreateVolumeArgs}.
 */
public final class ControllerService extends ControllerGrpc.ControllerImplBase {
    /** publish_context keys the Node service reads in NodeStage/NodePublish. */
    public static final String CONTEXT_NODE = "node";
    public static final String CONTEXT_READONLY = "readonly";
    /** Comma-separated node ids holding a replica: the Node service can tell whether it has a local copy. */
    public static final String CONTEXT_PLACEMENT = "placement";

    private static final List<Type> CAPABILITIES = List.of(Type.CREATE_DELETE_VOLUME, Type.PUBLISH_UNPUBLISH_VOLUME,
            Type.LIST_VOLUMES, Type.GET_CAPACITY, Type.CREATE_DELETE_SNAPSHOT, Type.LIST_SNAPSHOTS, Type.CLONE_VOLUME,
            Type.PUBLISH_READONLY, Type.EXPAND_VOLUME, Type.LIST_VOLUMES_PUBLISHED_NODES, Type.VOLUME_CONDITION,
            Type.GET_VOLUME, Type.SINGLE_NODE_MULTI_WRITER, Type.MODIFY_VOLUME);
    /** How long ModifyVolume follows the change before answering ABORTED (the CO calls again to follow it). */
    private static final java.time.Duration MODIFY_WAIT = java.time.Duration.ofSeconds(20);
    private volatile java.time.Duration modifyWait = MODIFY_WAIT;

    private final ClusterBackend backend;
    private final String clusterId;
    private final InFlight inFlight;
    private final SnapshotRpcs snapshots;

    /** @param clusterId the cluster's id, which names the topology segment of its volumes */
    public ControllerService(ClusterBackend backend, String clusterId) {
        this(backend, clusterId, new InFlight());
    }

    /** With a given in-flight set: share one between services that mutate the same volumes and names. */
    public ControllerService(ClusterBackend backend, String clusterId, InFlight inFlight) {
        this.backend = Objects.requireNonNull(backend);
        this.clusterId = Objects.requireNonNull(clusterId);
        this.inFlight = Objects.requireNonNull(inFlight);
        this.snapshots = new SnapshotRpcs(backend, inFlight);
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#createvolume
    @Override
    public void createVolume(CreateVolumeRequest request, StreamObserver<CreateVolumeResponse> out) {
        CsiCalls.unary(out, () -> {
            CreateVolumeArgs args = CreateVolumeArgs.parse(request);
            return inFlight.call("CreateVolume", List.of("volume name " + args.name()), () -> {
                VolumeRecord v;
                if (args.sourceSnapshotId() == null && args.sourceVolumeId() == null) {
                    // One catalog read: the backend answers a finished volume of that name as it is.
                    v = args.requireCompatible(create(args, request.getSecretsMap()));
                } else {
                    // A retry must find its volume even if the source has gone since: look before resolving it.
                    Optional<VolumeRecord> existing = backend.volumeByName(args.name());
                    v = existing.isPresent() ? args.requireCompatible(existing.get())
                            : args.requireCompatible(create(args, request.getSecretsMap()));
                }
                return CreateVolumeResponse.newBuilder().setVolume(CsiRecords.volume(v, clusterId)).build();
            });
        });
    }

    /**
     * Resolves the source (NOT_FOUND) and the size (OUT_OF_RANGE), then asks the backend to place the
     * volume. A backup source is read from the bucket the request's secrets name.
     */
    private VolumeRecord create(CreateVolumeArgs args, java.util.Map<String, String> secrets) {
        if (ClusterBackend.isBackup(args.sourceSnapshotId())) {
            var target = BackupTargets.fromSecrets(secrets, "CreateVolume's secrets");
            // without a capacity range as large as the backed-up volume; the backend checks a given one
            long size = Sizes.resolve(args.capacity(), backend.backup(args.sourceSnapshotId(), target).sizeBytes());
            return backend.createVolumeFromBackup(new VolumeSpec(args.name(), size, args.parameters().replicas(),
                    args.parameters().canonical(), args.sourceSnapshotId(), null, Topologies.replicaConstraint(args.requisite()),
                    args.preferred()), target);
        }
        long sourceSize = 0;
        String what = null;
        if (args.sourceSnapshotId() != null) {
            sourceSize = backend.snapshot(args.sourceSnapshotId()).orElseThrow(() -> notFound("source snapshot "
                    + args.sourceSnapshotId() + " does not exist")).sizeBytes();
            what = "snapshot " + args.sourceSnapshotId();
        } else if (args.sourceVolumeId() != null) {
            sourceSize = backend.volume(args.sourceVolumeId()).orElseThrow(() -> notFound("source volume "
                    + args.sourceVolumeId() + " does not exist")).sizeBytes();
            what = "volume " + args.sourceVolumeId();
        }
        // without a capacity range a restored or cloned volume is as large as its source
        long size = Sizes.resolve(args.capacity(), what == null ? Sizes.DEFAULT_BYTES : sourceSize);
        if (size < sourceSize) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE, "a " + size + "-byte volume cannot hold its source "
                    + what + " of " + sourceSize + " bytes; request at least that much");
        }
        return backend.createVolume(new VolumeSpec(args.name(), size, args.parameters().replicas(),
                args.parameters().canonical(), args.sourceSnapshotId(), args.sourceVolumeId(),
                Topologies.replicaConstraint(args.requisite()), args.preferred()));
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#deletevolume
    @Override
    public void deleteVolume(DeleteVolumeRequest request, StreamObserver<DeleteVolumeResponse> out) {
        CsiCalls.unary(out, () -> {
            String id = required(request.getVolumeId(), "volume_id");
            return inFlight.call("DeleteVolume", List.of("volume " + id), () -> {
                backend.deleteVolume(id); // absent = success, by the backend's contract
                return DeleteVolumeResponse.getDefaultInstance();
            });
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#controllerpublishvolume
    @Override
    public void controllerPublishVolume(ControllerPublishVolumeRequest request,
            StreamObserver<ControllerPublishVolumeResponse> out) {
        CsiCalls.unary(out, () -> {
            String id = required(request.getVolumeId(), "volume_id");
            String nodeId = required(request.getNodeId(), "node_id");
            if (!request.hasVolumeCapability()) {
                throw invalid("volume_capability is required");
            }
            VolumeCapabilities.requireSupported(request.getVolumeCapability(), "volume_capability");
            VolumeCapability.AccessMode.Mode mode = request.getVolumeCapability().getAccessMode().getMode();
            // a reader-only mode publishes read-only even if the flag was left false: stricter is safe
            boolean readonly = request.getReadonly() || VolumeCapabilities.readerOnly(mode);
            boolean exclusive = VolumeCapabilities.singleNode(mode);
            return inFlight.call("ControllerPublishVolume", List.of("volume " + id), () -> {
                requireVolume(id);
                backend.node(nodeId).orElseThrow(() -> notFound("node " + nodeId + " is not registered in the catalog"));
                VolumeRecord v = backend.publish(id, nodeId, readonly, exclusive);
                return ControllerPublishVolumeResponse.newBuilder()
                        .putPublishContext(CONTEXT_NODE, nodeId)
                        .putPublishContext(CONTEXT_READONLY, Boolean.toString(readonly))
                        .putPublishContext(CONTEXT_PLACEMENT, String.join(",", v.placement()))
                        .build();
            });
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#controllerunpublishvolume
    @Override
    public void controllerUnpublishVolume(ControllerUnpublishVolumeRequest request,
            StreamObserver<ControllerUnpublishVolumeResponse> out) {
        CsiCalls.unary(out, () -> {
            String id = required(request.getVolumeId(), "volume_id");
            String nodeId = request.getNodeId().isEmpty() ? null : request.getNodeId(); // empty: every node
            return inFlight.call("ControllerUnpublishVolume", List.of("volume " + id), () -> {
                backend.unpublish(id, nodeId); // absent volume or publication = success
                return ControllerUnpublishVolumeResponse.getDefaultInstance();
            });
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#validatevolumecapabilities
    @Override
    public void validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest request,
            StreamObserver<ValidateVolumeCapabilitiesResponse> out) {
        CsiCalls.unary(out, () -> {
            String id = required(request.getVolumeId(), "volume_id");
            List<VolumeCapability> caps = request.getVolumeCapabilitiesList();
            if (caps.isEmpty()) {
                throw invalid("volume_capabilities is required (at least one volume capability)");
            }
            for (int i = 0; i < caps.size(); i++) {
                VolumeCapabilities.requireWellFormed(caps.get(i), "volume_capabilities[" + i + "]");
            }
            VolumeRecord v = requireVolume(id);
            String why = ValidateArgs.unconfirmed(v, caps, request.getParametersMap(), request.getVolumeContextMap());
            if (why != null) {
                return ValidateVolumeCapabilitiesResponse.newBuilder().setMessage(why).build();
            }
            return ValidateVolumeCapabilitiesResponse.newBuilder().setConfirmed(
                    ValidateVolumeCapabilitiesResponse.Confirmed.newBuilder().addAllVolumeCapabilities(caps)
                            .putAllVolumeContext(request.getVolumeContextMap())
                            .putAllParameters(request.getParametersMap())).build();
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#listvolumes
    @Override
    public void listVolumes(ListVolumesRequest request, StreamObserver<ListVolumesResponse> out) {
        CsiCalls.unary(out, () -> {
            var page = PageToken.page("volumes", backend.volumes(), VolumeRecord::id,
                    request.getStartingToken(), request.getMaxEntries());
            ListVolumesResponse.Builder b = ListVolumesResponse.newBuilder().setNextToken(page.nextToken());
            for (VolumeRecord v : page.entries()) {
                b.addEntries(ListVolumesResponse.Entry.newBuilder().setVolume(CsiRecords.volume(v, clusterId))
                        .setStatus(ListVolumesResponse.VolumeStatus.newBuilder()
                                .addAllPublishedNodeIds(CsiRecords.publishedNodeIds(v))
                                .setVolumeCondition(CsiRecords.condition(v))));
            }
            return b.build();
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#getcapacity
    @Override
    public void getCapacity(GetCapacityRequest request, StreamObserver<GetCapacityResponse> out) {
        CsiCalls.unary(out, () -> {
            boolean supported = true;
            for (int i = 0; i < request.getVolumeCapabilitiesCount(); i++) {
                VolumeCapability cap = request.getVolumeCapabilities(i);
                VolumeCapabilities.requireWellFormed(cap, "volume_capabilities[" + i + "]");
                supported &= VolumeCapabilities.unsupported(cap) == null;
            }
            VolumeParameters params = VolumeParameters.parse(request.getParametersMap(), "parameters");
            // A volume reachable from the segment may keep its replicas anywhere its labels allow.
            List<Map<String, String>> constraint = request.hasAccessibleTopology()
                    ? Topologies.replicaConstraint(List.of(Topologies.toLabels(request.getAccessibleTopology(),
                            "accessible_topology"))) : List.of();
            Map<String, String> labels = constraint.isEmpty() ? Map.of() : constraint.get(0);
            // nothing can be provisioned with capabilities we do not support
            long fit = supported ? Sizes.largestFit(backend.nodes(), labels, params.replicas()) : 0;
            return GetCapacityResponse.newBuilder().setAvailableCapacity(fit)
                    .setMaximumVolumeSize(com.google.protobuf.Int64Value.of(fit)).build();
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#controllergetcapabilities
    @Override
    public void controllerGetCapabilities(ControllerGetCapabilitiesRequest request,
            StreamObserver<ControllerGetCapabilitiesResponse> out) {
        CsiCalls.unary(out, () -> {
            ControllerGetCapabilitiesResponse.Builder b = ControllerGetCapabilitiesResponse.newBuilder();
            for (Type t : CAPABILITIES) {
                b.addCapabilities(ControllerServiceCapability.newBuilder()
                        .setRpc(ControllerServiceCapability.RPC.newBuilder().setType(t)));
            }
            return b.build();
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#createsnapshot
    @Override
    public void createSnapshot(CreateSnapshotRequest request, StreamObserver<CreateSnapshotResponse> out) {
        CsiCalls.unary(out, () -> snapshots.createSnapshot(request));
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#deletesnapshot
    @Override
    public void deleteSnapshot(DeleteSnapshotRequest request, StreamObserver<DeleteSnapshotResponse> out) {
        CsiCalls.unary(out, () -> snapshots.deleteSnapshot(request));
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#listsnapshots
    @Override
    public void listSnapshots(ListSnapshotsRequest request, StreamObserver<ListSnapshotsResponse> out) {
        CsiCalls.unary(out, () -> snapshots.listSnapshots(request));
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#controllerexpandvolume
    @Override
    public void controllerExpandVolume(ControllerExpandVolumeRequest request,
            StreamObserver<ControllerExpandVolumeResponse> out) {
        CsiCalls.unary(out, () -> {
            String id = required(request.getVolumeId(), "volume_id");
            CapacityRange range = request.getCapacityRange();
            if (!request.hasCapacityRange() || range.getRequiredBytes() == 0) {
                throw invalid("capacity_range.required_bytes is required: the size to grow the volume to");
            }
            long size = Sizes.resolve(range, 0);
            if (request.hasVolumeCapability()) {
                VolumeCapabilities.requireSupported(request.getVolumeCapability(), "volume_capability");
            }
            // a filesystem must be grown on the node too; a raw block device is done when the volume is.
            // Without a capability we cannot tell, and a node expansion of a block volume is harmless.
            boolean nodeExpansion = !request.getVolumeCapability().hasBlock();
            return inFlight.call("ControllerExpandVolume", List.of("volume " + id), () -> {
                VolumeRecord v = requireVolume(id);
                if (range.getLimitBytes() > 0 && v.sizeBytes() > range.getLimitBytes()) {
                    throw new BallastException(ErrorCode.OUT_OF_RANGE, "volume " + id + " is already " + v.sizeBytes()
                            + " bytes, above limit_bytes " + range.getLimitBytes() + "; volumes never shrink");
                }
                long capacity = v.sizeBytes() >= size ? v.sizeBytes() : backend.expandVolume(id, size).sizeBytes();
                return ControllerExpandVolumeResponse.newBuilder().setCapacityBytes(capacity)
                        .setNodeExpansionRequired(nodeExpansion).build();
            });
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#controllergetvolume
    @Override
    public void controllerGetVolume(ControllerGetVolumeRequest request, StreamObserver<ControllerGetVolumeResponse> out) {
        CsiCalls.unary(out, () -> {
            VolumeRecord v = requireVolume(required(request.getVolumeId(), "volume_id"));
            return ControllerGetVolumeResponse.newBuilder().setVolume(CsiRecords.volume(v, clusterId))
                    .setStatus(ControllerGetVolumeResponse.VolumeStatus.newBuilder()
                            .addAllPublishedNodeIds(CsiRecords.publishedNodeIds(v))
                            .setVolumeCondition(CsiRecords.condition(v))).build();
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#controllermodifyvolume
    @Override
    public void controllerModifyVolume(ControllerModifyVolumeRequest request,
            StreamObserver<ControllerModifyVolumeResponse> out) {
        CsiCalls.unary(out, () -> {
            String id = required(request.getVolumeId(), "volume_id");
            if (request.getMutableParametersMap().isEmpty()) {
                throw invalid("mutable_parameters is empty; the only mutable parameter is " + VolumeParameters.REPLICAS);
            }
            int replicas = VolumeParameters.mutableReplicas(request.getMutableParametersMap(), "mutable_parameters");
            return inFlight.call("ControllerModifyVolume", List.of("volume " + id), () -> {
                requireVolume(id);
                VolumeRecord v = backend.setReplicas(id, replicas);
                long deadline = System.nanoTime() + modifyWait.toNanos();
                while (!(v.placement().size() == replicas && !v.abnormal())) {
                    if (System.nanoTime() > deadline) {
                        // Recorded and under way; the CO retries ModifyVolume, which follows it again.
                        throw CsiCalls.aborted("volume " + id + " is going to " + replicas + " replicas: " + v.condition()
                                + "; call again to follow the change");
                    }
                    sleep(500);
                    v = requireVolume(id);
                }
                return ControllerModifyVolumeResponse.getDefaultInstance();
            });
        });
    }

    /** Tests: how long ModifyVolume follows a change before answering ABORTED. */
    void modifyWait(java.time.Duration wait) {
        modifyWait = wait;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, "interrupted while following a volume change", e);
        }
    }

    private VolumeRecord requireVolume(String id) {
        return backend.volume(id).orElseThrow(() -> notFound("volume " + id + " does not exist"));
    }

    /** The value of a required string field; INVALID_ARGUMENT naming the field when it is empty. */
    static String required(String value, String field) {
        if (value.isEmpty()) {
            throw invalid(field + " is required");
        }
        return value;
    }

    static List<Map<String, String>> labels(List<Topology> segments, String field) {
        List<Map<String, String>> out = new ArrayList<>(segments.size());
        for (int i = 0; i < segments.size(); i++) {
            out.add(Topologies.toLabels(segments.get(i), field + "[" + i + "]"));
        }
        return out;
    }

    static BallastException invalid(String message) {
        return new BallastException(ErrorCode.INVALID_ARGUMENT, message);
    }

    static BallastException notFound(String message) {
        return new BallastException(ErrorCode.NOT_FOUND, message);
    }
}
