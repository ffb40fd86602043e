package io.ballast.engine.store;

import static io.ballast.engine.sys.Errno.EINTR;
import static io.ballast.engine.sys.Errno.EINVAL;
import static io.ballast.engine.sys.Errno.EIO;
import static io.ballast.engine.sys.Errno.ENOSPC;
import static io.ballast.engine.sys.Errno.ENOSYS;
import static io.ballast.engine.sys.Errno.ENOTTY;
import static io.ballast.engine.sys.Errno.ENXIO;
import static io.ballast.engine.sys.Errno.EOPNOTSUPP;
import static io.ballast.engine.sys.Errno.EXDEV;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.sys.Libc;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import jnr.ffi.annotations.SaveError;

/**
 * The one place where Ballast's block store calls the C library, and where errno becomes an
 * {@link ErrorCode}: ENOSPC -> NO_SPACE, EIO -> IO_ERROR, EOPNOTSUPP -> {@link #UNSUPPORTED} so
 * callers can fall back (to writing zeroes), anything else -> IO_ERROR with the errno named.
 *
 * <p><b>Why a second descriptor.</b> {@code FileChannel} has no public way to expose its file
 * descriptor; reading {@code FileDescriptor.fd} needs {@code --add-opens} into {@code java.base},
 * which breaks silently across JDKs. fallocate and fstat act on the inode, not on the open file
 * description, so the store opens the data file a second time with {@code open(2)} and keeps that
 * descriptor ({@link NativeFile}) beside the channel that does the preads and pwrites.
 *
 * <p>Thread-safe: the calls are stateless; errno is captured per call ({@code @SaveError}).
 * Linux only (x86_64 and aarch64 share the {@code struct stat} offset used here).
 */
public final class NativeIo {
    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    static final int FALLOC_FL_ZERO_RANGE = 0x10;


    static final int SEEK_DATA = 3;
    static final int SEEK_HOLE = 4;
    /** {@code FICLONE = _IOW(0x94, 9, int)}: share the source's extents (reflink; xfs, btrfs). */
    static final long FICLONE = 0x40049409L;
    /**
     * {@code FICLONERANGE = _IOW(0x94, 13, struct file_clone_range)}: share a range of the source's
     * extents; the struct is {@code s64 src_fd, u64 src_offset, u64 src_length, u64 dest_offset}.
     */
    static final long FICLONERANGE = 0x4020940DL;

    private static final int O_RDONLY = 0x0;
    private static final int O_RDWR = 0x2;
    private static final int O_CLOEXEC = 0x80000;
    /** {@code st_blocks} (512-byte units) in {@code struct stat} on Linux x86_64 and aarch64. */
    private static final int STAT_BLOCKS_OFFSET = 64;
    private static final int STAT_BUFFER_SIZE = 256;

    /** Returned by {@link NativeFile#fallocate} when the filesystem does not support the mode. */
    public static final int UNSUPPORTED = -1;

    private NativeIo() {}

    /** Opens {@code path} read-write for fallocate/fstat; the caller closes the result. */
    public static NativeFile open(Path path) {
        int fd = Libc.C.open(path.toString(), O_RDWR | O_CLOEXEC, 0);
        if (fd < 0) {
            throw error(Libc.errno(), "open " + path);
        }
        return new NativeFile(path, fd);
    }

    /** Opens {@code path} read-only (the source of a copy, a snapshot's files); the caller closes it. */
    public static NativeFile openReadOnly(Path path) {
        int fd = Libc.C.open(path.toString(), O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) {
            throw error(Libc.errno(), "open " + path + " read-only");
        }
        return new NativeFile(path, fd);
    }

    static BallastException error(int errno, String what) {
        String text = what + " failed: " + Libc.describe(errno);
        return switch (errno) {
            case ENOSPC -> new BallastException(ErrorCode.NO_SPACE, text + "; free space on the node's disk");
            default -> new BallastException(ErrorCode.IO_ERROR, text);
        };
    }

    /** A native descriptor of one file. Thread-safe; {@link #close()} once, after all users. */
    public static final class NativeFile implements AutoCloseable {
        private final Path path;
        private final int fd;

        private NativeFile(Path path, int fd) {
            this.path = path;
            this.fd = fd;
        }

        /**
         * {@code fallocate(2)} with {@code mode}; returns 0, or {@link #UNSUPPORTED} when the
         * filesystem cannot do it (EOPNOTSUPP, ENOSYS). Other errors throw BallastException.
         */
        public int fallocate(int mode, long offset, long length) {
            while (true) {
                if (Libc.C.fallocate(fd, mode, offset, length) == 0) {
                    return 0;
                }
                int errno = Libc.errno();
                if (errno == EINTR) {
                    continue;
                }
                if (errno == EOPNOTSUPP || errno == ENOSYS) {
                    return UNSUPPORTED;
                }
                throw error(errno, "fallocate(mode=" + mode + ", offset=" + offset + ", length="
                        + length + ") on " + path);
            }
        }

        /**
         * The first offset at or after {@code from} that holds data ({@code lseek SEEK_DATA}), or
         * -1 when only a hole follows (ENXIO). Filesystems without hole tracking report the whole
         * file as data, which is still correct, only not sparse.
         */
        public long seekData(long from) {
            return seek(from, SEEK_DATA);
        }

        /** The first hole at or after {@code from} ({@code SEEK_HOLE}); the file's end counts as one. */
        public long seekHole(long from) {
            return seek(from, SEEK_HOLE);
        }

        private long seek(long from, int whence) {
            long r = Libc.C.lseek(fd, from, whence);
            if (r >= 0) {
                return r;
            }
            int errno = Libc.errno();
            if (errno == ENXIO) {
                return -1;
            }
            throw error(errno, "lseek(" + from + ", " + (whence == SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE") + ") on " + path);
        }

        /**
         * Makes this file share {@code source}'s data extents ({@code ioctl FICLONE}, a reflink):
         * a copy that costs metadata only, on filesystems that can (xfs with reflink, btrfs).
         * Returns false when this filesystem cannot (EOPNOTSUPP, EXDEV, EINVAL, ENOTTY: ext4 says
         * EOPNOTSUPP), so the caller copies instead; other errors throw.
         */
        public boolean cloneFrom(NativeFile source) {
            return shareExtents(() -> Libc.C.ioctl(fd, FICLONE, source.fd), () -> "ioctl(FICLONE) of " + source.path + " into " + path);
        }

        /**
         * Makes {@code length} bytes of this file at {@code at} share {@code source}'s extents at
         * {@code from} ({@code ioctl FICLONERANGE}): the range reads as the source's bytes, at the
         * cost of a metadata change (xfs with reflink, btrfs). Offsets and length must be multiples
         * of the filesystem block. Returns false when the filesystem cannot (as {@link #cloneFrom},
         * EINVAL included: a misaligned range), so the caller writes the bytes instead; ENOSPC
         * throws NO_SPACE (sharing needs metadata blocks), other errors IO_ERROR.
         */
        public boolean cloneRange(NativeFile source, long from, long length, long at) {
            byte[] range = new byte[32];
            ByteBuffer.wrap(range).order(ByteOrder.nativeOrder()).putLong(source.fd).putLong(from).putLong(length).putLong(at);
            return shareExtents(() -> Libc.C.ioctl(fd, FICLONERANGE, range), () -> "ioctl(FICLONERANGE) of " + source.path
                    + " [" + from + ", +" + length + ") into " + path + " at " + at);
        }

        /** Runs a clone ioctl (retried on EINTR): true when done, false when this filesystem cannot; other errors throw. */
        private static boolean shareExtents(java.util.function.IntSupplier ioctl, java.util.function.Supplier<String> what) {
            while (true) {
                if (ioctl.getAsInt() == 0) {
                    return true;
                }
                int errno = Libc.errno();
                if (errno == EINTR) {
                    continue;
                }
                if (errno == EOPNOTSUPP || errno == EXDEV || errno == EINVAL || errno == ENOTTY || errno == ENOSYS) {
                    return false;
                }
                throw error(errno, what.get());
            }
        }

        /** Bytes the filesystem has allocated for this file ({@code st_blocks * 512}). */
        public long allocatedBytes() {
            byte[] buf = new byte[STAT_BUFFER_SIZE];
            if (Libc.C.fstat(fd, buf) != 0) {
                throw error(Libc.errno(), "fstat " + path);
            }
            return ByteBuffer.wrap(buf).order(ByteOrder.nativeOrder()).getLong(STAT_BLOCKS_OFFSET) * 512;
        }

        @Override
        public void close() {
            if (Libc.C.close(fd) != 0) {
                throw error(Libc.errno(), "close " + path);
            }
        }
    }
}
