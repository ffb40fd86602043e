package io.ballast.replication.entry;

import io.ballast.engine.store.ExtentSource;
import io.ballast.engine.store.NativeIo.NativeFile;

/**
 * The journal's durable copy of an entry's large WRITE data, for the store to share its extents
 * while the entry is applied ({@link io.ballast.engine.store.LocalBlockStore#writeOverBadEdges(long,
 * java.nio.ByteBuffer, ExtentSource)}). Keeps the journal file's handle open until closed; one
 * thread (the apply), closed once.
 */
public final class PlacedWrites implements AutoCloseable {
    /** Nothing placed: every WRITE is written to the store as usual. */
    public static final PlacedWrites NONE = new PlacedWrites(null, new long[0], () -> {});

    private final NativeFile file;
    private final long[] positions;
    private final Runnable release;

    PlacedWrites(NativeFile file, long[] positions, Runnable release) {
        this.file = file;
        this.positions = positions;
        this.release = release;
    }

    /** Where the data of the entry's {@code write}-th WRITE with data lies, or null when it is not placed. */
    public ExtentSource of(int write) {
        if (write >= positions.length || positions[write] < 0) {
            return null;
        }
        return new ExtentSource(file, positions[write]);
    }

    @Override
    public void close() {
        release.run();
    }
}
