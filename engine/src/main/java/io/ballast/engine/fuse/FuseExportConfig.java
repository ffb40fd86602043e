package io.ballast.engine.fuse;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of one FUSE export. Immutable; {@link #defaults()} is what the node uses.
 *
 * @param device            the FUSE character device ({@code /dev/fuse})
 * @param fileName          the one file's name under the mount point
 * @param maxWrite          bytes per READ/WRITE request we ask for (max_write, max_read, max_pages);
 *                          a multiple of 4096 in [4096, 1 MiB]. The kernel caps it at
 *                          {@code /proc/sys/fs/fuse/max_pages_limit} pages (256 = 1 MiB by default)
 * @param maxInFlight       request buffers (each maxWrite + 4 KiB, direct memory, allocated on demand):
 *                          the most requests being served at once; also max_background
 * @param attrTimeout       how long the kernel may cache the file's attributes (its size): an upper
 *                          bound on how stale the size is when {@link FuseExport#sizeChanged()} was not called
 * @param directIo          FOPEN_DIRECT_IO (+ FOPEN_PARALLEL_DIRECT_WRITES): every open of the file
 *                          bypasses the FUSE page cache. Off by default: with the loop driver's direct I/O
 *                          on top the page cache stays empty anyway (direct reads do not fill it, direct
 *                          writes invalidate it), and the cacheable file was ahead on most workloads in 4
 *                          of 5 paired runs (docs/benchmarks.md, "FUSE + loop device")
 * @param initTimeout       how long {@link FuseExport#start} waits for the kernel's INIT
 * @param closeTimeout      how long {@link FuseExport#close()} retries a busy unmount and waits for the
 *                          connection to end
 */
public record FuseExportConfig(Path device, String fileName, int maxWrite, int maxInFlight, Duration attrTimeout,
                               boolean directIo, Duration initTimeout, Duration closeTimeout) {
    public static final int MIB = 1 << 20;

    public FuseExportConfig {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(fileName, "fileName");
        Objects.requireNonNull(attrTimeout, "attrTimeout");
        Objects.requireNonNull(initTimeout, "initTimeout");
        Objects.requireNonNull(closeTimeout, "closeTimeout");
        if (fileName.isEmpty() || fileName.equals(".") || fileName.equals("..") || fileName.contains("/")
                || fileName.indexOf('\0') >= 0 || fileName.length() > 255) {
            throw new IllegalArgumentException("fileName must be a plain file name, got '" + fileName + "'");
        }
        if (maxWrite < 4096 || maxWrite > MIB || maxWrite % 4096 != 0) {
            throw new IllegalArgumentException("maxWrite must be a multiple of 4096 in [4096, 1 MiB], got " + maxWrite);
        }
        if (maxInFlight < 2 || maxInFlight > 1024) {
            throw new IllegalArgumentException("maxInFlight must be in [2, 1024], got " + maxInFlight);
        }
        if (attrTimeout.isNegative()) {
            throw new IllegalArgumentException("attrTimeout must not be negative");
        }
    }

    public static FuseExportConfig defaults() {
        return new FuseExportConfig(Path.of("/dev/fuse"), "volume", MIB, 32, Duration.ofSeconds(1), false,
                Duration.ofSeconds(10), Duration.ofSeconds(10));
    }

    public FuseExportConfig withDirectIo(boolean on) {
        return new FuseExportConfig(device, fileName, maxWrite, maxInFlight, attrTimeout, on, initTimeout, closeTimeout);
    }

    /** Bytes of one request buffer: the largest WRITE (headers + maxWrite) or READ reply, rounded up. */
    int bufferSize() {
        return Math.max(FuseConstants.MIN_READ_BUFFER, maxWrite + 4096);
    }
}
