package io.ballast.backup;

/** Progress of a backup or restore: volume bytes gone through of all, and bytes moved over the network. */
@FunctionalInterface
public interface BackupProgressListener {
    void progress(long bytesDone, long bytesTotal, long transferredBytes);

    BackupProgressListener NONE = (d, t, x) -> { };
}
