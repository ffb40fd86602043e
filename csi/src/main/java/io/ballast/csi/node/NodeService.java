package io.ballast.csi.node;

import io.ballast.cluster.ClusterBackend.NodeRecord;
import io.ballast.csi.CsiCalls;
import io.ballast.csi.InFlight;
import io.ballast.csi.MkfsOptions;
import io.ballast.csi.Topologies;
import io.ballast.csi.VolumeCapabilities;
import io.ballast.csi.node.StagedVolumes.Staged;
import io.ballast.engine.crypt.Passphrases;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.csi.v1.NodeExpandVolumeRequest;
import io.ballast.proto.csi.v1.NodeExpandVolumeResponse;
import io.ballast.proto.csi.v1.NodeGetCapabilitiesRequest;
import io.ballast.proto.csi.v1.NodeGetCapabilitiesResponse;
import io.ballast.proto.csi.v1.NodeGetInfoRequest;
import io.ballast.proto.csi.v1.NodeGetInfoResponse;
import io.ballast.proto.csi.v1.NodeGetVolumeStatsRequest;
import io.ballast.proto.csi.v1.NodeGetVolumeStatsResponse;
import io.ballast.proto.csi.v1.NodeGrpc;
import io.ballast.proto.csi.v1.NodePublishVolumeRequest;
import io.ballast.proto.csi.v1.NodePublishVolumeResponse;
import io.ballast.proto.csi.v1.NodeServiceCapability;
import io.ballast.proto.csi.v1.NodeStageVolumeRequest;
import io.ballast.proto.csi.v1.NodeStageVolumeResponse;
import io.ballast.proto.csi.v1.NodeUnpublishVolumeRequest;
import io.ballast.proto.csi.v1.NodeUnpublishVolumeResponse;
import io.ballast.proto.csi.v1.NodeUnstageVolumeRequest;
import io.ballast.proto.csi.v1.NodeUnstageVolumeResponse;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.csi.v1.VolumeCapability.AccessMode.Mode;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The CSI Node service of one storage node: a volume staged here becomes a kernel block device
 * ({@link VolumeDevices}), formatted on first use and mounted at the staging path for mount access;
 * each publication is a bind mount of that (or of the device file, for block access) into the pod's
 * target path. Handlers are named as the RPCs; each links to the spec section it implements.
 *
 * <p>Idempotency: what is staged and published here is recorded ({@link StagedVolumes}); a repeated
 * call with the same arguments succeeds without doing anything again, the same volume with other
 * arguments is ALREADY_EXISTS. Concurrent calls on one volume get ABORTED ({@link InFlight}).
 * Threading: gRPC threads; per-volume serialisation as above.
 */
public final class NodeService extends NodeGrpc.NodeImplBase {
    /** Loop devices per node we are willing to use (the kernel's default max_loop is unbounded). */
    static final long MAX_VOLUMES = 128;
    /** How long {@link #resumeStaged} keeps trying a volume whose replica group has no quorum. */
    static final java.time.Duration RESUME_FOR = java.time.Duration.ofMinutes(10);
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NodeService.class);

    private final NodeRecord self;
    private final VolumeDevices devices;
    private final Mounter mounter;
    private final StagedVolumes staged;
    private final StageKeys keys;
    private final NodeStats stats;
    private final InFlight inFlight = new InFlight();

    /**
     * @param self this node's id and topology labels
     * @param stateDir where the staged-volume records live (in the node's data directory)
     * @param keyDir   where the passphrases of staged encrypted volumes are kept for restarts (tmpfs)
     */
    public NodeService(NodeRecord self, VolumeDevices devices, Mounter mounter, Path stateDir, Path keyDir) {
        this.self = self;
        this.devices = devices;
        this.mounter = mounter;
        this.staged = new StagedVolumes(stateDir);
        this.keys = new StageKeys(keyDir);
        this.stats = new NodeStats(mounter);
    }

    /**
     * After a restart of this process: attaches every volume recorded as staged here again, in the
     * background, retrying while its replica group has no quorum yet. Kubelet does not stage a
     * mounted volume a second time, so without this its filesystem would wait (FUSE connection kept
     * by the descriptor keeper, NBD device in its dead-connection timeout) for nobody. The device
     * attachers take over what the earlier process left (same device, same mount).
     */
    public void resumeStaged() {
        List<Staged> all = staged.all();
        if (all.isEmpty()) {
            return;
        }
        LOG.info("resuming {} volume(s) staged before this start: {}", all.size(), all.stream().map(Staged::volumeId).toList());
        for (Staged s : all) {
            Thread.ofVirtual().name("resume-" + s.volumeId()).start(() -> resume(s));
        }
    }

    private void resume(Staged s) {
        String id = s.volumeId();
        long start = System.nanoTime();
        long lastLog = 0;
        while (System.nanoTime() - start < RESUME_FOR.toNanos()) {
            try {
                Optional<Passphrases> key = s.encrypted() ? keys.get(id) : Optional.empty();
                if (s.encrypted() && key.isEmpty()) {
                    LOG.error("volume {} is encrypted and its key was not kept across this restart (a host reboot clears "
                            + "it): it is attached again when kubelet stages it again", id);
                    return;
                }
                Path device = inFlight.call("resume", List.of("volume " + id), () -> devices.attach(id, s.sharedWriters(), key));
                LOG.info("volume {} resumed on {} after {} ms", id, device, (System.nanoTime() - start) / 1_000_000);
                if (!s.block()) {
                    mounter.mountAt(s.stagingPath()).filter(m -> !m.source().equals(device.toString())).ifPresent(m ->
                            LOG.warn("volume {}: {} is mounted from {}, not from {}: that mount fails until the volume "
                                    + "is staged again", id, s.stagingPath(), m.source(), device));
                }
                return;
            } catch (BallastException e) {
                if (e.code() == ErrorCode.NOT_FOUND) {
                    LOG.warn("volume {} was staged here but this node holds no replica of it any more: {}", id, e.getMessage());
                    return;
                }
                if (System.nanoTime() - lastLog > 30_000_000_000L) {
                    LOG.info("volume {} cannot be resumed yet ({}): retrying", id, e.getMessage());
                    lastLog = System.nanoTime();
                }
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
        }
        LOG.error("volume {} could not be resumed within {}; it is attached again when staged again", id, RESUME_FOR);
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#nodegetinfo
    @Override
    public void nodeGetInfo(NodeGetInfoRequest request, StreamObserver<NodeGetInfoResponse> out) {
        CsiCalls.unary(out, () -> NodeGetInfoResponse.newBuilder().setNodeId(self.nodeId())
                .setMaxVolumesPerNode(MAX_VOLUMES).setAccessibleTopology(Topologies.segmentOf(self)).build());
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#nodegetcapabilities
    @Override
    public void nodeGetCapabilities(NodeGetCapabilitiesRequest request, StreamObserver<NodeGetCapabilitiesResponse> out) {
        CsiCalls.unary(out, () -> {
            NodeGetCapabilitiesResponse.Builder b = NodeGetCapabilitiesResponse.newBuilder();
            for (var t : List.of(NodeServiceCapability.RPC.Type.STAGE_UNSTAGE_VOLUME, NodeServiceCapability.RPC.Type.GET_VOLUME_STATS,
                    NodeServiceCapability.RPC.Type.EXPAND_VOLUME, NodeServiceCapability.RPC.Type.VOLUME_CONDITION,
                    NodeServiceCapability.RPC.Type.SINGLE_NODE_MULTI_WRITER)) {
                b.addCapabilities(NodeServiceCapability.newBuilder().setRpc(NodeServiceCapability.RPC.newBuilder().setType(t)));
            }
            return b.build();
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#nodestagevolume
    @Override
    public void nodeStageVolume(NodeStageVolumeRequest r, StreamObserver<NodeStageVolumeResponse> out) {
        CsiCalls.unary(out, () -> {
            String id = required(r.getVolumeId(), "volume_id");
            Path staging = path(r.getStagingTargetPath(), "staging_target_path");
            if (!r.hasVolumeCapability()) {
                throw invalid("volume_capability is required");
            }
            VolumeCapability cap = r.getVolumeCapability();
            VolumeCapabilities.requireSupported(cap, "volume_capability");
            List<String> mkfs = MkfsOptions.parse(r.getVolumeContextOrDefault(MkfsOptions.KEY, ""), "volume_context");
            Optional<Passphrases> key = StageEncryption.of(id, r.getVolumeContextMap(), r.getSecretsMap());
            return inFlight.call("NodeStageVolume", List.of("volume " + id), () -> {
                boolean wasStaged = staged.get(id).isPresent();
                if (key.isPresent()) {
                    keys.put(id, r.getSecretsOrThrow(StageEncryption.PASSPHRASE),
                            r.getSecretsOrDefault(StageEncryption.PREVIOUS_PASSPHRASE, ""));
                }
                try {
                    new VolumeStager(devices, mounter, staged).stage(id, staging, cap, mkfs, key);
                } catch (RuntimeException e) {
                    if (!wasStaged) {
                        keys.remove(id);
                    }
                    throw e;
                }
                return NodeStageVolumeResponse.getDefaultInstance();
            });
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#nodeunstagevolume
    @Override
    public void nodeUnstageVolume(NodeUnstageVolumeRequest r, StreamObserver<NodeUnstageVolumeResponse> out) {
        CsiCalls.unary(out, () -> {
            String id = required(r.getVolumeId(), "volume_id");
            Path staging = path(r.getStagingTargetPath(), "staging_target_path");
            return inFlight.call("NodeUnstageVolume", List.of("volume " + id), () -> {
                new VolumeStager(devices, mounter, staged).unstage(id, staging);
                if (staged.get(id).isEmpty()) {
                    keys.remove(id);
                }
                return NodeUnstageVolumeResponse.getDefaultInstance();
            });
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#nodepublishvolume
    @Override
    public void nodePublishVolume(NodePublishVolumeRequest r, StreamObserver<NodePublishVolumeResponse> out) {
        CsiCalls.unary(out, () -> {
            String id = required(r.getVolumeId(), "volume_id");
            Path target = path(r.getTargetPath(), "target_path");
            Path staging = path(r.getStagingTargetPath(), "staging_target_path (this plugin stages volumes)");
            if (!r.hasVolumeCapability()) {
                throw invalid("volume_capability is required");
            }
            VolumeCapability cap = r.getVolumeCapability();
            VolumeCapabilities.requireSupported(cap, "volume_capability");
            boolean readonly = r.getReadonly() || VolumeCapabilities.readerOnly(cap.getAccessMode().getMode());
            return inFlight.call("NodePublishVolume", List.of("volume " + id), () -> {
                Staged s = staged.get(id).filter(x -> x.stagingPath().equals(staging)).orElseThrow(() -> new BallastException(
                        ErrorCode.FAILED_PRECONDITION, "volume " + id + " is not staged at " + staging + "; call NodeStageVolume first"));
                if (s.block() != cap.hasBlock()) {
                    throw new BallastException(ErrorCode.ALREADY_EXISTS, "volume " + id + " is staged for "
                            + (s.block() ? "block" : "mount") + " access, not " + (cap.hasBlock() ? "block" : "mount"));
                }
                Boolean existing = s.publications().get(target.toString());
                if (existing != null) {
                    if (existing == readonly && mounter.mountAt(target).isPresent()) {
                        return NodePublishVolumeResponse.getDefaultInstance();
                    }
                    if (existing != readonly) {
                        throw new BallastException(ErrorCode.ALREADY_EXISTS, "volume " + id + " is published at " + target
                                + " with readonly=" + existing);
                    }
                }
                if (cap.getAccessMode().getMode() == Mode.SINGLE_NODE_SINGLE_WRITER && s.publications().keySet().stream()
                        .anyMatch(p -> !p.equals(target.toString()))) {
                    throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + id
                            + " is SINGLE_NODE_SINGLE_WRITER and already published at " + s.publications().keySet());
                }
                staged.publishedAt(target).filter(o -> !o.volumeId().equals(id)).ifPresent(o -> {
                    throw new BallastException(ErrorCode.ALREADY_EXISTS, "target " + target + " is used by volume " + o.volumeId());
                });
                new VolumeStager(devices, mounter, staged).publish(s, target, readonly);
                return NodePublishVolumeResponse.getDefaultInstance();
            });
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#nodeunpublishvolume
    @Override
    public void nodeUnpublishVolume(NodeUnpublishVolumeRequest r, StreamObserver<NodeUnpublishVolumeResponse> out) {
        CsiCalls.unary(out, () -> {
            String id = required(r.getVolumeId(), "volume_id");
            Path target = path(r.getTargetPath(), "target_path");
            return inFlight.call("NodeUnpublishVolume", List.of("volume " + id), () -> {
                new VolumeStager(devices, mounter, staged).unpublish(id, target);
                return NodeUnpublishVolumeResponse.getDefaultInstance();
            });
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#nodegetvolumestats
    @Override
    public void nodeGetVolumeStats(NodeGetVolumeStatsRequest r, StreamObserver<NodeGetVolumeStatsResponse> out) {
        CsiCalls.unary(out, () -> {
            String id = required(r.getVolumeId(), "volume_id");
            String volumePath = required(r.getVolumePath(), "volume_path");
            Staged s = stagedAt(id, volumePath);
            return stats.of(s, Path.of(volumePath).normalize(), devices);
        });
    }

    // https://github.com/container-storage-interface/spec/blob/v1.11.0/spec.md#nodeexpandvolume
    @Override
    public void nodeExpandVolume(NodeExpandVolumeRequest r, StreamObserver<NodeExpandVolumeResponse> out) {
        CsiCalls.unary(out, () -> {
            String id = required(r.getVolumeId(), "volume_id");
            String volumePath = required(r.getVolumePath(), "volume_path");
            stagedAt(id, volumePath); // NOT_FOUND first: the spec's error for a volume that is not there
            Path path = Path.of(volumePath).normalize();
            if (r.hasCapacityRange() && (r.getCapacityRange().getRequiredBytes() < 0 || r.getCapacityRange().getLimitBytes() < 0)) {
                throw invalid("capacity_range must not be negative");
            }
            return inFlight.call("NodeExpandVolume", List.of("volume " + id), () -> {
                Staged s = staged.get(id).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                        "volume " + id + " is not staged on node " + self.nodeId()));
                if (!path.equals(s.stagingPath()) && !s.publications().containsKey(path.toString())) {
                    throw new BallastException(ErrorCode.NOT_FOUND, "volume " + id + " is not published at " + path);
                }
                long size = devices.refreshSize(id);
                if (r.hasCapacityRange() && r.getCapacityRange().getRequiredBytes() > size) {
                    throw new BallastException(ErrorCode.OUT_OF_RANGE, "volume " + id + " has " + size
                            + " bytes, fewer than the " + r.getCapacityRange().getRequiredBytes() + " asked: expand it through the controller first");
                }
                if (!s.block()) {
                    mounter.growFilesystem(s.fsType(), devices.device(id).orElseThrow(), s.stagingPath());
                }
                return NodeExpandVolumeResponse.newBuilder().setCapacityBytes(size).build();
            });
        });
    }

    /**
     * The volume staged here and known at {@code volumePath} (its staging path or a publication),
     * else NOT_FOUND, also for a path that could never be one (relative, with ".."): the spec answers
     * NOT_FOUND when the volume does not exist on the given path, whatever the path looks like.
     */
    private Staged stagedAt(String id, String volumePath) {
        Staged s = staged.get(id).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                "volume " + id + " is not staged on node " + self.nodeId()));
        boolean wellFormed = volumePath.startsWith("/") && volumePath.indexOf('\0') < 0
                && !List.of(volumePath.split("/")).contains("..");
        Path path = wellFormed ? Path.of(volumePath).normalize() : null;
        if (path == null || !(path.equals(s.stagingPath()) || s.publications().containsKey(path.toString()))) {
            throw new BallastException(ErrorCode.NOT_FOUND, "volume " + id + " is not staged or published at '"
                    + volumePath + "' on node " + self.nodeId());
        }
        return s;
    }

    private static String required(String value, String field) {
        if (value.isEmpty()) {
            throw invalid(field + " is required");
        }
        return value;
    }

    /** An absolute path without NUL or ".." (INVALID_ARGUMENT otherwise: we mount there as root). */
    private static Path path(String value, String field) {
        required(value, field);
        if (!value.startsWith("/") || value.indexOf('\0') >= 0 || List.of(value.split("/")).contains("..")) {
            throw invalid(field + " must be an absolute path without '..', got '" + value + "'");
        }
        return Path.of(value).normalize();
    }

    private static BallastException invalid(String message) {
        return new BallastException(ErrorCode.INVALID_ARGUMENT, message);
    }

    /** This node's topology labels as the catalog records them (for NodeGetInfo). */
    public static NodeRecord self(String nodeId, String clusterId, Map<String, String> labels) {
        Map<String, String> all = new TreeMap<>(labels);
        all.put(Topologies.CLUSTER, clusterId); // every node reports its cluster: volumes are reachable from all of them
        return new NodeRecord(nodeId, "", "", all, 0, 0, true, 0);
    }
}
