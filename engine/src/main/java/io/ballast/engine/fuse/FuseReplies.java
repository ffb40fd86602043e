package io.ballast.engine.fuse;

import static io.ballast.engine.fuse.FuseConstants.*;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Encodes replies and notifications at the start of a buffer. Each method writes the out header
 * and body with absolute puts and returns the total length to hand to write(2); the buffer's
 * position and limit are left alone. Stateless and thread-safe; buffers must be little-endian.
 */
final class FuseReplies {
    private FuseReplies() {
    }

    /** The limits we answer INIT with. */
    record InitOut(int minor, int maxReadahead, int flags, int maxBackground, int congestionThreshold,
                   int maxWrite, int maxPages) {
    }

    /** An error reply: header only, error = -errno. */
    static int error(ByteBuffer b, long unique, int errno) {
        OutHeaderDescriptor.put(b, OutHeaderDescriptor.LENGTH, -errno, unique);
        return OutHeaderDescriptor.LENGTH;
    }

    /** A success without a body (FLUSH, FSYNC, RELEASE, DESTROY, FALLOCATE). */
    static int empty(ByteBuffer b, long unique) {
        OutHeaderDescriptor.put(b, OutHeaderDescriptor.LENGTH, 0, unique);
        return OutHeaderDescriptor.LENGTH;
    }

    static int init(ByteBuffer b, long unique, InitOut out) {
        int base = OutHeaderDescriptor.LENGTH;
        int total = base + InitOutDescriptor.LENGTH;
        zero(b, base, InitOutDescriptor.LENGTH);
        OutHeaderDescriptor.put(b, total, 0, unique);
        b.putInt(base + InitOutDescriptor.MAJOR_OFFSET, KERNEL_VERSION);
        b.putInt(base + InitOutDescriptor.MINOR_OFFSET, out.minor());
        b.putInt(base + InitOutDescriptor.MAX_READAHEAD_OFFSET, out.maxReadahead());
        b.putInt(base + InitOutDescriptor.FLAGS_OFFSET, out.flags());
        b.putShort(base + InitOutDescriptor.MAX_BACKGROUND_OFFSET, (short) out.maxBackground());
        b.putShort(base + InitOutDescriptor.CONGESTION_THRESHOLD_OFFSET, (short) out.congestionThreshold());
        b.putInt(base + InitOutDescriptor.MAX_WRITE_OFFSET, out.maxWrite());
        b.putInt(base + InitOutDescriptor.TIME_GRAN_OFFSET, 1);
        b.putShort(base + InitOutDescriptor.MAX_PAGES_OFFSET, (short) out.maxPages());
        return total;
    }

    static int entry(ByteBuffer b, long unique, FileAttr attr, long entryValidNanos, long attrValidNanos) {
        int base = OutHeaderDescriptor.LENGTH;
        int total = base + EntryOutDescriptor.LENGTH;
        OutHeaderDescriptor.put(b, total, 0, unique);
        b.putLong(base + EntryOutDescriptor.NODEID_OFFSET, attr.ino());
        b.putLong(base + EntryOutDescriptor.GENERATION_OFFSET, 1);
        b.putLong(base + EntryOutDescriptor.ENTRY_VALID_OFFSET, entryValidNanos / 1_000_000_000L);
        b.putLong(base + EntryOutDescriptor.ATTR_VALID_OFFSET, attrValidNanos / 1_000_000_000L);
        b.putInt(base + EntryOutDescriptor.ENTRY_VALID_NSEC_OFFSET, (int) (entryValidNanos % 1_000_000_000L));
        b.putInt(base + EntryOutDescriptor.ATTR_VALID_NSEC_OFFSET, (int) (attrValidNanos % 1_000_000_000L));
        AttrDescriptor.put(b, base + EntryOutDescriptor.ATTR_OFFSET, attr);
        return total;
    }

    static int attr(ByteBuffer b, long unique, FileAttr attr, long attrValidNanos) {
        int base = OutHeaderDescriptor.LENGTH;
        int total = base + AttrOutDescriptor.LENGTH;
        OutHeaderDescriptor.put(b, total, 0, unique);
        b.putLong(base + AttrOutDescriptor.ATTR_VALID_OFFSET, attrValidNanos / 1_000_000_000L);
        b.putInt(base + AttrOutDescriptor.ATTR_VALID_NSEC_OFFSET, (int) (attrValidNanos % 1_000_000_000L));
        b.putInt(base + AttrOutDescriptor.ATTR_VALID_NSEC_OFFSET + 4, 0);
        AttrDescriptor.put(b, base + AttrOutDescriptor.ATTR_OFFSET, attr);
        return total;
    }

    static int open(ByteBuffer b, long unique, long fh, int openFlags) {
        int base = OutHeaderDescriptor.LENGTH;
        int total = base + OpenOutDescriptor.LENGTH;
        OutHeaderDescriptor.put(b, total, 0, unique);
        b.putLong(base + OpenOutDescriptor.FH_OFFSET, fh);
        b.putInt(base + OpenOutDescriptor.OPEN_FLAGS_OFFSET, openFlags);
        b.putInt(base + OpenOutDescriptor.OPEN_FLAGS_OFFSET + 4, 0);
        return total;
    }

    /** Header of a READ reply whose {@code dataLength} bytes the caller put at {@link #READ_DATA_OFFSET}. */
    static int read(ByteBuffer b, long unique, int dataLength) {
        int total = READ_DATA_OFFSET + dataLength;
        OutHeaderDescriptor.put(b, total, 0, unique);
        return total;
    }

    /** Where a READ reply's data goes. */
    static final int READ_DATA_OFFSET = OutHeaderDescriptor.LENGTH;

    static int write(ByteBuffer b, long unique, int size) {
        int base = OutHeaderDescriptor.LENGTH;
        int total = base + WriteOutDescriptor.LENGTH;
        OutHeaderDescriptor.put(b, total, 0, unique);
        b.putInt(base + WriteOutDescriptor.SIZE_OFFSET, size);
        b.putInt(base + WriteOutDescriptor.SIZE_OFFSET + 4, 0);
        return total;
    }

    static int statfs(ByteBuffer b, long unique, long blocks, int blockSize, long files) {
        int base = OutHeaderDescriptor.LENGTH;
        int total = base + StatfsOutDescriptor.LENGTH;
        zero(b, base, StatfsOutDescriptor.LENGTH);
        OutHeaderDescriptor.put(b, total, 0, unique);
        b.putLong(base + StatfsOutDescriptor.BLOCKS_OFFSET, blocks);
        b.putLong(base + StatfsOutDescriptor.FILES_OFFSET, files);
        b.putInt(base + StatfsOutDescriptor.BSIZE_OFFSET, blockSize);
        b.putInt(base + StatfsOutDescriptor.NAMELEN_OFFSET, 255);
        b.putInt(base + StatfsOutDescriptor.FRSIZE_OFFSET, blockSize);
        return total;
    }

    /** One directory entry. */
    record Dirent(long ino, int type, String name) {
    }

    /**
     * A READDIR reply with the entries of {@code all} from index {@code offset} on that fit in
     * {@code maxSize} bytes; an entry's cookie is its index + 1, so READDIR(offset) resumes there.
     */
    static int readdir(ByteBuffer b, long unique, Dirent[] all, long offset, int maxSize) {
        int pos = OutHeaderDescriptor.LENGTH;
        for (long i = Math.max(0, offset); i < all.length; i++) {
            Dirent d = all[(int) i];
            byte[] name = d.name().getBytes(StandardCharsets.UTF_8);
            int size = DirentDescriptor.size(name.length);
            if (pos - OutHeaderDescriptor.LENGTH + size > maxSize) {
                break;
            }
            zero(b, pos, size);
            b.putLong(pos + DirentDescriptor.INO_OFFSET, d.ino());
            b.putLong(pos + DirentDescriptor.OFF_OFFSET, i + 1);
            b.putInt(pos + DirentDescriptor.NAMELEN_OFFSET, name.length);
            b.putInt(pos + DirentDescriptor.TYPE_OFFSET, d.type());
            b.put(pos + DirentDescriptor.NAME_OFFSET, name);
            pos += size;
        }
        OutHeaderDescriptor.put(b, pos, 0, unique);
        return pos;
    }

    /** FUSE_NOTIFY_INVAL_INODE for {@code ino}'s attributes only (off = -1). */
    static int notifyInvalInodeAttributes(ByteBuffer b, long ino) {
        int base = OutHeaderDescriptor.LENGTH;
        int total = base + NotifyInvalInodeDescriptor.LENGTH;
        OutHeaderDescriptor.put(b, total, NOTIFY_INVAL_INODE, 0);
        b.putLong(base + NotifyInvalInodeDescriptor.INO_OFFSET, ino);
        b.putLong(base + NotifyInvalInodeDescriptor.OFF_OFFSET, -1);
        b.putLong(base + NotifyInvalInodeDescriptor.LEN_OFFSET, 0);
        return total;
    }

    /** FUSE_NOTIFY_RESEND: a bare header; the kernel resends what it had handed out unanswered. */
    static int notifyResend(ByteBuffer b) {
        OutHeaderDescriptor.put(b, OutHeaderDescriptor.LENGTH, NOTIFY_RESEND, 0);
        return OutHeaderDescriptor.LENGTH;
    }

    private static void zero(ByteBuffer b, int from, int length) {
        for (int i = 0; i < length; i++) {
            b.put(from + i, (byte) 0);
        }
    }
}
