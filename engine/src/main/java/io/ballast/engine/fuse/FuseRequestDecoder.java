package io.ballast.engine.fuse;

import static io.ballast.engine.fuse.FuseConstants.*;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Decodes one request as read from /dev/fuse (one read(2) returns exactly one request).
 * Never throws on bad input: a request that is too short, whose header length disagrees with
 * the bytes read, or whose body does not fit its opcode becomes {@link FuseRequest.Malformed}.
 *
 * <p>Stateless and thread-safe. The buffer must be little-endian (host order); only absolute
 * gets are used, so its position and limit are left alone.
 */
final class FuseRequestDecoder {
    private FuseRequestDecoder() {
    }

    /** Decodes the {@code length} bytes at the start of {@code b}. */
    static FuseRequest decode(ByteBuffer b, int length) {
        if (length < InHeaderDescriptor.LENGTH) {
            long unique = length >= 16 ? b.getLong(InHeaderDescriptor.UNIQUE_OFFSET) : 0;
            return new FuseRequest.Malformed(unique, 0, length >= 8 ? InHeaderDescriptor.opcode(b) : 0,
                    "request of " + length + " bytes is shorter than fuse_in_header");
        }
        int opcode = InHeaderDescriptor.opcode(b);
        long unique = InHeaderDescriptor.unique(b);
        long node = InHeaderDescriptor.nodeId(b);
        if (InHeaderDescriptor.len(b) != length) {
            return new FuseRequest.Malformed(unique, node, opcode,
                    "header says " + InHeaderDescriptor.len(b) + " bytes, read returned " + length);
        }
        // Extensions (security context, supplementary groups) come after the body; we negotiate none,
        // but if one arrives the body is what precedes it.
        int end = length - InHeaderDescriptor.totalExtLen(b) * 8;
        int base = InHeaderDescriptor.LENGTH;
        int body = end - base;
        return switch (opcode) {
            case INIT -> body < InitInDescriptor.COMPAT_LENGTH ? tooShort(unique, node, opcode, body)
                    : init(b, unique, node, body);
            case LOOKUP -> lookup(b, unique, node, base, body);
            case GETATTR -> new FuseRequest.GetAttr(unique, node);
            case OPEN, OPENDIR -> body < OpenInDescriptor.LENGTH ? tooShort(unique, node, opcode, body)
                    : new FuseRequest.Open(unique, node, b.getInt(base + OpenInDescriptor.FLAGS_OFFSET),
                            opcode == OPENDIR);
            case READ, READDIR -> body < ReadInDescriptor.LENGTH ? tooShort(unique, node, opcode, body) : read(b, unique,
                    node, base, opcode);
            case WRITE -> body < WriteInDescriptor.LENGTH ? tooShort(unique, node, opcode, body)
                    : write(b, unique, node, base, body);
            case FLUSH -> body < FhInDescriptor.LENGTH ? tooShort(unique, node, opcode, body)
                    : new FuseRequest.Sync(unique, node, b.getLong(base + FhInDescriptor.FH_OFFSET), FLUSH);
            case FSYNC -> body < FsyncInDescriptor.LENGTH ? tooShort(unique, node, opcode, body)
                    : new FuseRequest.Sync(unique, node, b.getLong(base + FsyncInDescriptor.FH_OFFSET), FSYNC);
            case RELEASE, RELEASEDIR -> body < FhInDescriptor.LENGTH ? tooShort(unique, node, opcode, body)
                    : new FuseRequest.Release(unique, node, b.getLong(base + FhInDescriptor.FH_OFFSET),
                            opcode == RELEASEDIR);
            case STATFS -> new FuseRequest.StatFs(unique, node);
            case FALLOCATE -> body < FallocateInDescriptor.LENGTH ? tooShort(unique, node, opcode, body)
                    : new FuseRequest.Fallocate(unique, node, b.getLong(base + FallocateInDescriptor.FH_OFFSET),
                            b.getLong(base + FallocateInDescriptor.OFFSET_OFFSET),
                            b.getLong(base + FallocateInDescriptor.LENGTH_OFFSET),
                            b.getInt(base + FallocateInDescriptor.MODE_OFFSET));
            case FORGET, BATCH_FORGET -> new FuseRequest.Forget(unique, node, opcode);
            case INTERRUPT -> body < InterruptInDescriptor.LENGTH ? tooShort(unique, node, opcode, body)
                    : new FuseRequest.Interrupt(unique, node, b.getLong(base + InterruptInDescriptor.UNIQUE_OFFSET));
            case DESTROY -> new FuseRequest.Destroy(unique, node);
            default -> new FuseRequest.Unsupported(unique, node, opcode);
        };
    }

    private static FuseRequest init(ByteBuffer b, long unique, long node, int body) {
        int base = InHeaderDescriptor.LENGTH;
        long flags = Integer.toUnsignedLong(b.getInt(base + InitInDescriptor.FLAGS_OFFSET));
        if ((flags & INIT_INIT_EXT) != 0 && body >= InitInDescriptor.FLAGS2_OFFSET + 4) {
            flags |= Integer.toUnsignedLong(b.getInt(base + InitInDescriptor.FLAGS2_OFFSET)) << 32;
        }
        return new FuseRequest.Init(unique, node, b.getInt(base + InitInDescriptor.MAJOR_OFFSET),
                b.getInt(base + InitInDescriptor.MINOR_OFFSET), b.getInt(base + InitInDescriptor.MAX_READAHEAD_OFFSET),
                flags);
    }

    private static FuseRequest lookup(ByteBuffer b, long unique, long node, int base, int body) {
        // The name is 0-terminated inside the body.
        int n = 0;
        while (n < body && b.get(base + n) != 0) {
            n++;
        }
        if (n == body) {
            return new FuseRequest.Malformed(unique, node, LOOKUP, "LOOKUP name is not 0-terminated");
        }
        byte[] name = new byte[n];
        b.get(base, name);
        return new FuseRequest.Lookup(unique, node, new String(name, StandardCharsets.UTF_8));
    }

    private static FuseRequest read(ByteBuffer b, long unique, long node, int base, int opcode) {
        long fh = b.getLong(base + ReadInDescriptor.FH_OFFSET);
        long offset = b.getLong(base + ReadInDescriptor.OFFSET_OFFSET);
        int size = b.getInt(base + ReadInDescriptor.SIZE_OFFSET);
        if (size < 0) {
            return new FuseRequest.Malformed(unique, node, opcode, "size " + Integer.toUnsignedString(size));
        }
        return opcode == READ ? new FuseRequest.Read(unique, node, fh, offset, size)
                : new FuseRequest.ReadDir(unique, node, fh, offset, size);
    }

    private static FuseRequest write(ByteBuffer b, long unique, long node, int base, int body) {
        int size = b.getInt(base + WriteInDescriptor.SIZE_OFFSET);
        if (size < 0 || size != body - WriteInDescriptor.LENGTH) {
            return new FuseRequest.Malformed(unique, node, WRITE, "WRITE size " + Integer.toUnsignedString(size)
                    + " but " + (body - WriteInDescriptor.LENGTH) + " data bytes");
        }
        return new FuseRequest.Write(unique, node, b.getLong(base + WriteInDescriptor.FH_OFFSET),
                b.getLong(base + WriteInDescriptor.OFFSET_OFFSET), size,
                b.getInt(base + WriteInDescriptor.WRITE_FLAGS_OFFSET), base + WriteInDescriptor.LENGTH);
    }

    private static FuseRequest tooShort(long unique, long node, int opcode, int body) {
        return new FuseRequest.Malformed(unique, node, opcode, opcodeName(opcode) + " body of " + body + " bytes is too short");
    }
}
