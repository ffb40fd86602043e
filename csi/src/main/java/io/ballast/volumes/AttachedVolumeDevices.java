package io.ballast.volumes;

import io.ballast.csi.node.VolumeDevices;
import io.ballast.engine.attach.AttachedDevice;
import io.ballast.engine.attach.DeviceAttacher;
import io.ballast.engine.crypt.Passphrases;
import io.ballast.engine.crypt.SectorCipher;
import io.ballast.engine.crypt.VolumeKeys;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.volume.BlockVolume;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link VolumeDevices} of a storage node: the volume is attached here as the replicated volume's
 * frontend (a fresh writer epoch fences any earlier one), then made a kernel block device by the
 * node's {@link DeviceAttacher} (FUSE file + loop device, or NBD).
 *
 * <p>An encrypted volume is unlocked with the stage's passphrases ({@link VolumeKeys}) between the
 * two: the device shows plaintext, the replicated volume underneath carries ciphertext.
 *
 * <p>A volume without a replica on this node is attached as a diskless frontend through its
 * group's leader, found among the replicas the {@link ReplicaLocator} names.
 *
 * <p>Threading: thread-safe; the Node service serialises operations on one volume.
 */
public final class AttachedVolumeDevices implements VolumeDevices, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AttachedVolumeDevices.class);

    private final ReplicatedVolumes volumes;
    private final DeviceAttacher attacher;
    private final ReplicaLocator replicas;
    private final Map<String, AttachedDevice> attached = new ConcurrentHashMap<>();
    private final VolumeKeys keys = new VolumeKeys();

    public AttachedVolumeDevices(ReplicatedVolumes volumes, DeviceAttacher attacher, ReplicaLocator replicas) {
        this.volumes = volumes;
        this.attacher = attacher;
        this.replicas = replicas;
    }

    /** Where a volume's replicas are (node id -> raft address), for volumes with none here. */
    @FunctionalInterface
    public interface ReplicaLocator {
        /** NOT_FOUND when the volume is unknown; UNAVAILABLE when the answer cannot be had now. */
        Map<String, String> replicasOf(String volumeId);

        /** For a node outside any catalog: only volumes with a replica here can be attached. */
        ReplicaLocator NONE = id -> Map.of();
    }

    @Override
    public Path attach(String volumeId, boolean shared, Optional<Passphrases> key) {
        AttachedDevice d = attached.get(volumeId);
        if (d != null) {
            return d.device();
        }
        ReplicatedBlockVolume v = volumes.hostsReplica(volumeId) ? volumes.attach(volumeId, Map.of(), shared)
                : volumes.attach(volumeId, replicas.replicasOf(volumeId), shared); // NOT_FOUND without replicas anywhere
        try {
            BlockVolume device = v;
            if (key.isPresent()) {
                // Decrypted here, on the attaching node only: what enters the Raft log is ciphertext.
                VolumeKeys.Unlocked unlocked = keys.unlock(v, key.get());
                LOG.info("volume {}: {} ({})", volumeId, switch (unlocked.outcome()) {
                    case FORMATTED -> "encrypted with a new data key in key slot 0";
                    case OPENED -> "unlocked";
                    case ROTATED -> "unlocked with the previous passphrase, key slot moved to the current one";
                }, SectorCipher.NAME);
                device = unlocked.volume();
            }
            d = attacher.attach(device);
            if (shared && !d.directIo()) {
                // The device would read through a page cache of this node's own, which another
                // node's writes never invalidate: the shared semantics would not hold.
                AttachedDevice cached = d;
                closeQuietly(cached);
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + volumeId + " cannot be attached "
                        + "shared on this node: its device " + cached.device() + " reads through a page cache (the kernel "
                        + "refused direct I/O for it), so writes from another node would not be seen here");
            }
        } catch (RuntimeException e) {
            volumes.detach(volumeId);
            throw e;
        }
        attached.put(volumeId, d);
        LOG.info("volume {} is block device {} ({})", volumeId, d.device(), d.describe());
        return d.device();
    }

    private static void closeQuietly(AttachedDevice d) {
        try {
            d.close();
        } catch (Exception e) {
            LOG.warn("closing device {}: {}", d.device(), e.toString());
        }
    }

    @Override
    public void detach(String volumeId) {
        AttachedDevice d = attached.remove(volumeId);
        if (d != null) {
            try {
                d.close();
            } catch (Exception e) {
                attached.put(volumeId, d);
                throw BallastException.of(e);
            }
        }
        volumes.detach(volumeId);
    }

    @Override
    public Optional<Path> device(String volumeId) {
        return Optional.ofNullable(attached.get(volumeId)).map(AttachedDevice::device);
    }

    @Override
    public long refreshSize(String volumeId) {
        AttachedDevice d = attached.get(volumeId);
        if (d == null) {
            throw new BallastException(io.ballast.engine.error.ErrorCode.NOT_FOUND, "volume " + volumeId + " is not attached here");
        }
        return d.refreshCapacity();
    }

    @Override
    public String condition(String volumeId) {
        return volumes.status(volumeId).integrity().condition();
    }

    /**
     * Node shutdown. A device that outlives this process (its FUSE connection held by the descriptor
     * keeper, or a reconnecting NBD device) is left as it is: its I/O waits for the next start, which
     * takes it over. Any other is detached, and a filesystem still mounted on it gets I/O errors, so
     * that is logged loudly.
     */
    @Override
    public void close() {
        for (String id : List.copyOf(attached.keySet())) {
            AttachedDevice d = attached.get(id);
            if (d.outlivesProcess()) {
                d.leave();
                LOG.info("node stopping: {} stays attached for the next start of this node", d.describe());
                continue;
            }
            LOG.warn("node stopping: detaching {} (a filesystem still mounted on it gets I/O errors)", id);
            try {
                detach(id);
            } catch (RuntimeException e) {
                LOG.warn("detach of {} at shutdown: {}", id, e.getMessage());
            }
        }
    }
}
