package io.ballast.csi.controller;

import static io.ballast.csi.controller.ControllerService.invalid;
import static io.ballast.csi.controller.ControllerService.labels;

import io.ballast.csi.VolumeCapabilities;
import io.ballast.cluster.ClusterBackend.VolumeRecord;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.csi.v1.VolumeContentSource;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A CreateVolume request, validated: everything the backend will see, parsed before any catalog
 * access. Also decides whether an existing volume of the same name answers the request (CSI
 * CreateVolume is idempotent by name).
 *
 * @param capacity          null when the request has no capacity_range
 * @param sourceSnapshotId  null unless the content source is a snapshot
 * @param sourceVolumeId    null unless the content source is a volume (a clone)
 * @param requisite         topology segments as catalog labels (see {@link io.ballast.csi.Topologies})
 */
record CreateVolumeArgs(String name, CapacityRange capacity, VolumeParameters parameters, String sourceSnapshotId,
        String sourceVolumeId, List<Map<String, String>> requisite, List<Map<String, String>> preferred) {

    /** The longest name accepted: a Kubernetes object name's limit, which the sidecars' names stay within. */
    static final int MAX_NAME = 253;

    static CreateVolumeArgs parse(CreateVolumeRequest request) {
        String name = name(request.getName(), "name");
        VolumeCapabilities.requireSupported(request.getVolumeCapabilitiesList(), "volume_capabilities");
        // A VolumeAttributesClass's replicas (mutable_parameters) win over the StorageClass's.
        VolumeParameters params = VolumeParameters.parse(request.getParametersMap(), "parameters")
                .withReplicas(VolumeParameters.mutableReplicas(request.getMutableParamsMap(), "mutable_parameters"));
        for (VolumeCapability cap : request.getVolumeCapabilitiesList()) {
            String fs = cap.getMount().getFsType();
            if (cap.hasMount() && !fs.isEmpty() && !params.fsType().isEmpty() && !fs.equals(params.fsType())) {
                throw invalid("volume_capabilities asks for fs_type " + fs + " but parameter "
                        + VolumeParameters.FS_TYPE + " is " + params.fsType() + "; they must agree");
            }
        }
        CapacityRange capacity = null;
        if (request.hasCapacityRange()) {
            capacity = request.getCapacityRange();
            Sizes.check(capacity.getRequiredBytes(), capacity.getLimitBytes());
        }
        String snapshotId = null;
        String volumeId = null;
        if (request.hasVolumeContentSource()) {
            VolumeContentSource src = request.getVolumeContentSource();
            switch (src.getTypeCase()) {
                case SNAPSHOT -> snapshotId = ControllerService.required(src.getSnapshot().getSnapshotId(),
                        "volume_content_source.snapshot.snapshot_id");
                case VOLUME -> volumeId = ControllerService.required(src.getVolume().getVolumeId(),
                        "volume_content_source.volume.volume_id");
                default -> throw invalid("volume_content_source must name a snapshot or a volume");
            }
        }
        var topology = request.getAccessibilityRequirements();
        return new CreateVolumeArgs(name, capacity, params, snapshotId, volumeId,
                labels(topology.getRequisiteList(), "accessibility_requirements.requisite"),
                labels(topology.getPreferredList(), "accessibility_requirements.preferred"));
    }

    /** A required name of at most {@value #MAX_NAME} characters without control characters. */
    static String name(String value, String field) {
        ControllerService.required(value, field);
        if (value.length() > MAX_NAME) {
            throw invalid(field + " is " + value.length() + " characters long; at most " + MAX_NAME + " are accepted");
        }
        if (value.chars().anyMatch(Character::isISOControl)) {
            throw invalid(field + " must not contain control characters");
        }
        return value;
    }

    /**
     * The existing volume when it answers this request (same source, same replicas and fsType, a size
     * within the range), else ALREADY_EXISTS saying what differs. Topology is not compared: the
     * volume was placed by a request with this name, and moving it is not what a retry asks for.
     */
    VolumeRecord requireCompatible(VolumeRecord existing) {
        String differs = null;
        if (!Sizes.satisfies(existing.sizeBytes(), capacity)) {
            differs = "its size " + existing.sizeBytes() + " is outside the requested capacity_range ["
                    + capacity.getRequiredBytes() + ", " + (capacity.getLimitBytes() == 0 ? "unlimited" : capacity.getLimitBytes()) + "]";
        } else if (!Objects.equals(VolumeParameters.of(existing), parameters)) {
            differs = "it has " + VolumeParameters.of(existing).canonical() + ", the request asks for " + parameters.canonical();
        } else if (!Objects.equals(emptyToNull(existing.sourceSnapshotId()), sourceSnapshotId)
                || !Objects.equals(emptyToNull(existing.sourceVolumeId()), sourceVolumeId)) {
            differs = "its content source differs (" + describeSource(existing.sourceSnapshotId(), existing.sourceVolumeId())
                    + " vs " + describeSource(sourceSnapshotId, sourceVolumeId) + ")";
        }
        if (differs != null) {
            throw new BallastException(ErrorCode.ALREADY_EXISTS, "volume name " + name + " is taken by volume "
                    + existing.id() + " and " + differs + "; use another name or delete that volume");
        }
        return existing;
    }

    private static String describeSource(String snapshotId, String volumeId) {
        if (snapshotId != null && !snapshotId.isEmpty()) {
            return "snapshot " + snapshotId;
        }
        return volumeId != null && !volumeId.isEmpty() ? "volume " + volumeId : "empty";
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
