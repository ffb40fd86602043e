package io.ballast.engine.attach;

import java.nio.file.Path;

/**
 * A volume attached as a kernel block device ({@link #device()}, e.g. {@code /dev/loop3}).
 *
 * <p><b>Threading.</b> Thread-safe. <b>Errors.</b> {@link io.ballast.engine.error.BallastException}.
 */
public interface AttachedDevice extends AutoCloseable {
    /** The block device node to mkfs, mount or bind into a pod. */
    Path device();

    /** The volume's name. */
    String volumeName();

    /** True when the device does direct I/O to the volume (no second page cache in between). */
    boolean directIo();

    /** The device's size in bytes as the kernel sees it now (BLKGETSIZE64). */
    long sizeBytes();

    /**
     * Makes the kernel see the volume's current size after it grew (then resize2fs / xfs_growfs can
     * grow the filesystem). Returns the device's new size in bytes.
     */
    long refreshCapacity();

    /**
     * True when the device keeps its I/O waiting if this process dies, for the next process's
     * {@link DeviceAttacher#attach} of the volume to take it over (so a node shutdown leaves it).
     */
    default boolean outlivesProcess() {
        return false;
    }

    /**
     * This process is stopping and leaves a device that {@link #outlivesProcess()} to the next one:
     * stop serving it without detaching, so that nothing in flight is failed by the volume closing.
     */
    default void leave() {
    }

    /** One line for logs and status: device, path, mode. */
    String describe();

    /**
     * Detaches the device and stops serving it. Refused with FAILED_PRECONDITION while the device is
     * in use (mounted, or open by another process): unmount first. Idempotent once it succeeded.
     */
    @Override
    void close();
}
