package io.ballast.csi.node;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The node's filesystem and mount operations: the OS seam of the CSI Node service.
 *
 * <p>Error contract: {@link io.ballast.engine.error.BallastException} with INTERNAL when a tool
 * fails (its output in the message), INVALID_ARGUMENT for an unsupported filesystem type.
 * Threading: implementations are thread-safe; the caller serialises operations on one path.
 */
public interface Mounter {

    /** The filesystem type found on {@code device} ("ext4", "xfs", ...), empty when it holds none. */
    Optional<String> filesystemOf(Path device);

    /** Makes a filesystem of {@code fsType} on {@code device} with extra mkfs options. */
    void format(Path device, String fsType, List<String> options);

    /** Mounts {@code device} on {@code target} (an existing directory). */
    void mount(Path device, Path target, String fsType, List<String> options);

    /** Bind-mounts {@code source} (a directory or a device file) on {@code target}, read-only when asked. */
    void bind(Path source, Path target, boolean readonly);

    /** Unmounts {@code target}; nothing mounted there is a success. */
    void unmount(Path target);

    /** What is mounted at {@code target} (the mount's source as /proc/self/mountinfo names it), if anything. */
    Optional<Mount> mountAt(Path target);

    /** Grows the filesystem on {@code device}, mounted at {@code mountPoint}, to the device's size. */
    void growFilesystem(String fsType, Path device, Path mountPoint);

    /** One entry of the mount table. */
    record Mount(Path target, String source, String fsType, boolean readonly, String root) {}
}
