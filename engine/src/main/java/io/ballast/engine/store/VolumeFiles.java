package io.ballast.engine.store;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.VolumeMetadataLayout.Metadata;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The files of one volume directory and how they are created and found.
 *
 * <pre>
 *  volumes/&lt;name&gt;/
 *    volume.meta     VolumeMetadataLayout: size, region shift, clean-shutdown flag (atomic replace)
 *    data            sparse; block i at byte i*4096; no header, so the file is the raw device image
 *    checksums       ChecksumFileLayout: header page + one CRC32C slot per block (memory-mapped)
 *    dirty.bitmap    DirtyBitmapLayout: header page + one bit per dirty region
 * </pre>
 */
final class VolumeFiles {
    static final String DATA_FILE = "data";

    private VolumeFiles() {}

    static Path data(Path dir) {
        return dir.resolve(DATA_FILE);
    }

    static Path checksums(Path dir) {
        return dir.resolve(ChecksumFileLayout.FILE_NAME);
    }

    static Path bitmap(Path dir) {
        return dir.resolve(DirtyBitmapLayout.FILE_NAME);
    }

    static Path metadata(Path dir) {
        return dir.resolve(VolumeMetadataLayout.FILE_NAME);
    }

    /**
     * Creates a volume's files in the existing empty directory {@code dir} and fsyncs them and
     * {@code dir}; the caller makes the directory itself appear atomically (rename).
     */
    static void format(Path dir, long sizeBytes, int regionShift, long nowMillis) {
        try (RandomAccessFile raf = new RandomAccessFile(data(dir).toFile(), "rw")) {
            raf.setLength(sizeBytes);
            raf.getFD().sync();
        } catch (IOException e) {
            throw Durable.ioError("create " + data(dir), e);
        }
        ChecksumTable.format(checksums(dir));
        DirtyRegions.format(bitmap(dir), regionShift);
        writeMetadata(dir, new Metadata(sizeBytes, regionShift, true, nowMillis));
        Durable.fsyncDirectory(dir);
    }

    static Metadata readMetadata(Path dir) {
        Path file = metadata(dir);
        if (!Files.isRegularFile(file)) {
            throw new BallastException(ErrorCode.CORRUPTION, "volume directory " + dir + " has no "
                    + VolumeMetadataLayout.FILE_NAME + "; it is incomplete or not a Ballast volume");
        }
        return VolumeMetadataLayout.decode(Durable.readAll(file, 4096), file);
    }

    static void writeMetadata(Path dir, Metadata m) {
        Durable.writeAtomically(metadata(dir), VolumeMetadataLayout.encode(m));
    }

    /** Checks that every file exists and the data file is as long as the volume. */
    static void checkPresent(Path dir, long sizeBytes) {
        for (Path p : new Path[] {data(dir), checksums(dir), bitmap(dir)}) {
            if (!Files.isRegularFile(p)) {
                throw new BallastException(ErrorCode.CORRUPTION, "volume file " + p + " is missing");
            }
        }
        try {
            long len = Files.size(data(dir));
            if (len < sizeBytes) {
                throw new BallastException(ErrorCode.CORRUPTION, "data file " + data(dir) + " is " + len
                        + " bytes but the volume is " + sizeBytes + " bytes; it was truncated");
            }
        } catch (IOException e) {
            throw Durable.ioError("stat " + data(dir), e);
        }
    }
}
