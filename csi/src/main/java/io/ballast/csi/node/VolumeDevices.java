package io.ballast.csi.node;

import io.ballast.engine.crypt.Passphrases;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Turns a volume with a replica on this node into a kernel block device and back: the device
 * seam of the CSI Node service (FUSE file + loop device here, the kernel NBD client where the
 * kernel has one).
 *
 * <p>Error contract: {@link io.ballast.engine.error.BallastException}: NOT_FOUND when this node
 * holds no replica of the volume, UNAVAILABLE when its replica group has no quorum, INTERNAL when
 * the kernel refuses. Threading: thread-safe; the caller serialises operations on one volume.
 */
public interface VolumeDevices {

    /**
     * Attaches the volume here (idempotent) and returns its block device, e.g. /dev/loop3.
     * {@code shared}: as one of several writers on several nodes (a MULTI_NODE_MULTI_WRITER block
     * volume), without fencing the others; else as its only writer. {@code key}: for an encrypted
     * volume, the passphrases that unlock it (INVALID_ARGUMENT when none opens its key slots,
     * FAILED_PRECONDITION when it holds unencrypted data); the device shows the decrypted volume.
     */
    Path attach(String volumeId, boolean shared, Optional<Passphrases> key);

    /** Removes the volume's device and stops serving it here. Not attached = success. */
    void detach(String volumeId);

    /** The device of a volume attached here. */
    Optional<Path> device(String volumeId);

    /** Makes the device show the volume's current size (after an expansion) and returns it in bytes. */
    long refreshSize(String volumeId);

    /** "healthy", or why the volume is not (e.g. "degraded: 3 unrepairable blocks", I/O errors seen). */
    String condition(String volumeId);
}
