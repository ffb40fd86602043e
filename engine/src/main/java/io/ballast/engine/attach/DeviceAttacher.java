package io.ballast.engine.attach;

import io.ballast.engine.volume.BlockVolume;

/**
 * Makes a {@link BlockVolume} a kernel block device on this host, the seam the CSI Node service
 * stages volumes through. Implementations: {@link FuseLoopAttacher} (volume served as a file over
 * FUSE, with a loop device on it: works wherever FUSE and loop exist) and {@link NbdAttacher}
 * ({@code /dev/nbdN} connected to the node's NBD server) where the kernel has nbd;
 * {@link DeviceAttachers#choose} picks one.
 *
 * <p><b>Threading.</b> Implementations are thread-safe; attaching different volumes concurrently is
 * allowed. Attaching the same volume twice is the caller's mistake (the Node service holds a
 * per-volume lock); the second attach fails or yields a second device.
 *
 * <p><b>Errors.</b> {@link io.ballast.engine.error.BallastException}: FAILED_PRECONDITION when the
 * host lacks what the implementation needs (module, device node, privileges), RESOURCE-like
 * IO_ERROR when no free device could be taken, UNAVAILABLE when the kernel did not answer in time.
 * A failed attach leaves nothing behind (no mount, no device).
 */
public interface DeviceAttacher {
    /** Short name for logs, flags and metrics: {@code fuse-loop}, {@code nbd}. */
    String kind();

    /** Attaches {@code volume}; the caller keeps the volume open until the device is closed. */
    AttachedDevice attach(BlockVolume volume);
}
