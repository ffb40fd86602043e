package io.ballast.engine.store;

import io.ballast.engine.store.NativeIo.NativeFile;

/**
 * Where a file already holds the bytes of a write, durably: at {@code position} of {@code file}
 * (a record of the replica's entry journal). {@link LocalBlockStore#writeOverBadEdges(long,
 * java.nio.ByteBuffer, ExtentSource)} shares that file's extents instead of writing the bytes a
 * second time, where the filesystem can. The caller keeps {@code file} open and the range unchanged
 * for the duration of the call.
 */
public record ExtentSource(NativeFile file, long position) {
}
