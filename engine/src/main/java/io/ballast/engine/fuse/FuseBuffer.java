package io.ballast.engine.fuse;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jnr.ffi.Pointer;

/**
 * One request's memory: the kernel's request is read into it, and the reply is encoded into the
 * same bytes once the request no longer needs them (a WRITE's data after the volume wrote it; a
 * READ's data goes at {@link FuseReplies#READ_DATA_OFFSET}). Owned by exactly one request at a time.
 */
final class FuseBuffer {
    final ByteBuffer bytes;
    final Pointer pointer;

    FuseBuffer(int size) {
        this.bytes = ByteBuffer.allocateDirect(size).order(ByteOrder.LITTLE_ENDIAN);
        this.pointer = FuseDevice.pointer(bytes);
    }

    /** A view of [offset, offset + length) for the volume to read into or write from. */
    ByteBuffer slice(int offset, int length) {
        return bytes.slice(offset, length);
    }

    int capacity() {
        return bytes.capacity();
    }
}
