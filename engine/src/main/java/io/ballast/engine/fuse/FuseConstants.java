package io.ballast.engine.fuse;

/**
 * Numbers of the Linux FUSE kernel protocol ({@code include/uapi/linux/fuse.h}) that this export
 * uses. Values are the kernel's ABI and never change; names follow the header without the
 * {@code FUSE_} prefix where that is unambiguous.
 */
final class FuseConstants {
    private FuseConstants() {
    }

    /** Protocol major version; a kernel with another major is refused. */
    static final int KERNEL_VERSION = 7;
    /** The minor version whose structures this code writes (7.38 = Linux 6.2 headers). */
    static final int KERNEL_MINOR_VERSION = 38;
    /** Oldest kernel minor we accept: 7.28 brought FUSE_MAX_PAGES (1 MiB requests). */
    static final int MIN_KERNEL_MINOR_VERSION = 28;

    static final long ROOT_ID = 1;
    /** The one regular file's node id. */
    static final long FILE_ID = 2;

    // Opcodes (enum fuse_opcode).
    static final int LOOKUP = 1;
    static final int FORGET = 2;
    static final int GETATTR = 3;
    static final int SETATTR = 4;
    static final int OPEN = 14;
    static final int READ = 15;
    static final int WRITE = 16;
    static final int STATFS = 17;
    static final int RELEASE = 18;
    static final int FSYNC = 20;
    static final int FLUSH = 25;
    static final int INIT = 26;
    static final int OPENDIR = 27;
    static final int READDIR = 28;
    static final int RELEASEDIR = 29;
    static final int INTERRUPT = 36;
    static final int DESTROY = 38;
    static final int BATCH_FORGET = 42;
    static final int FALLOCATE = 43;

    // INIT flags (fuse_init_in.flags / fuse_init_out.flags).
    static final int INIT_ASYNC_READ = 1;
    static final int INIT_BIG_WRITES = 1 << 5;
    static final int INIT_ASYNC_DIO = 1 << 15;
    static final int INIT_WRITEBACK_CACHE = 1 << 16;
    static final int INIT_PARALLEL_DIROPS = 1 << 18;
    static final int INIT_MAX_PAGES = 1 << 22;
    static final int INIT_INIT_EXT = 1 << 30;

    // fuse_open_out.open_flags.
    static final int FOPEN_DIRECT_IO = 1;
    static final int FOPEN_KEEP_CACHE = 1 << 1;
    static final int FOPEN_PARALLEL_DIRECT_WRITES = 1 << 6;

    // fuse_fsync_in.fsync_flags.
    static final int FSYNC_FDATASYNC = 1;

    // fallocate(2) modes the kernel forwards (the loop driver uses these for DISCARD / WRITE_ZEROES).
    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    static final int FALLOC_FL_ZERO_RANGE = 0x10;

    // enum fuse_notify_code: sent as the out header's error field with unique = 0.
    static final int NOTIFY_INVAL_INODE = 2;
    /** Linux 6.9+: move every request read but not answered back to the queue, to be read again. */
    static final int NOTIFY_RESEND = 7;
    /** INIT flags2 bit (bit 39 of the 64-bit flags): the kernel understands {@link #NOTIFY_RESEND}. */
    static final long INIT_HAS_RESEND = 1L << 39;

    // Linux errno values used in replies (positive here; negated on the wire).

    // struct stat modes.
    static final int S_IFDIR = 0040000;
    static final int S_IFREG = 0100000;
    /** Directory entry types (fuse_dirent.type = DT_*). */
    static final int DT_DIR = 4;
    static final int DT_REG = 8;

    /** The smallest read buffer the kernel accepts on /dev/fuse. */
    static final int MIN_READ_BUFFER = 8192;

    static String opcodeName(int opcode) {
        return switch (opcode) {
            case LOOKUP -> "LOOKUP";
            case FORGET -> "FORGET";
            case GETATTR -> "GETATTR";
            case SETATTR -> "SETATTR";
            case OPEN -> "OPEN";
            case READ -> "READ";
            case WRITE -> "WRITE";
            case STATFS -> "STATFS";
            case RELEASE -> "RELEASE";
            case FSYNC -> "FSYNC";
            case FLUSH -> "FLUSH";
            case INIT -> "INIT";
            case OPENDIR -> "OPENDIR";
            case READDIR -> "READDIR";
            case RELEASEDIR -> "RELEASEDIR";
            case INTERRUPT -> "INTERRUPT";
            case DESTROY -> "DESTROY";
            case BATCH_FORGET -> "BATCH_FORGET";
            case FALLOCATE -> "FALLOCATE";
            default -> "opcode " + opcode;
        };
    }
}
