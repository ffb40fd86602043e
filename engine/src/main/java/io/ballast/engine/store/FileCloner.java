package io.ballast.engine.store;

import io.ballast.engine.store.NativeIo.NativeFile;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Copies one file as cheaply as its filesystem allows, keeping holes: first a reflink
 * ({@code FICLONE}: the copy shares the source's extents, metadata only; xfs with reflink, btrfs),
 * else a sparse copy that visits only the source's data extents ({@code SEEK_DATA}/{@code SEEK_HOLE})
 * and copies each with {@link FileChannel#transferTo} (which the JDK does with
 * {@code copy_file_range} in the kernel, no user-space buffer). A hole of the source stays a hole of
 * the copy, so copying a thin volume costs what it holds, not its size.
 *
 * <p>The copy is fsynced before {@link #copy} returns. The target must not exist. Threading:
 * stateless; the caller keeps the source from changing during the copy. Errors:
 * {@link io.ballast.engine.error.BallastException} IO_ERROR / NO_SPACE; a failed copy leaves a
 * partial target for the caller to delete.
 */
final class FileCloner {
    /** How a file was copied (logged, and checked by tests). */
    enum Method { REFLINK, SPARSE_COPY }

    /** The outcome: how, and how many data bytes were copied (0 for a reflink). */
    record Copied(Method method, long dataBytes) {}

    private FileCloner() {}

    static Copied copy(Path source, Path target) {
        try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
                FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                NativeFile src = NativeIo.openReadOnly(source);
                NativeFile dst = NativeIo.open(target)) {
            long size = in.size();
            Copied result;
            if (dst.cloneFrom(src)) {
                result = new Copied(Method.REFLINK, 0);
            } else {
                long copied = 0;
                for (long pos = src.seekData(0); pos >= 0 && pos < size; pos = src.seekData(pos)) {
                    long end = Math.min(src.seekHole(pos), size);
                    copyRange(in, out, pos, end);
                    copied += end - pos;
                    pos = end;
                    if (pos >= size) {
                        break;
                    }
                }
                if (out.size() < size) { // a trailing hole: set the length without writing it
                    try (RandomAccessFile raf = new RandomAccessFile(target.toFile(), "rw")) {
                        raf.setLength(size);
                    }
                }
                result = new Copied(Method.SPARSE_COPY, copied);
            }
            out.force(true);
            return result;
        } catch (IOException e) {
            throw Durable.ioError("copy " + source + " to " + target, e);
        }
    }

    private static void copyRange(FileChannel in, FileChannel out, long from, long to) throws IOException {
        out.position(from);
        long pos = from;
        while (pos < to) {
            long n = in.transferTo(pos, to - pos, out);
            if (n <= 0) {
                throw new IOException("transferTo made no progress at " + pos + " of " + to);
            }
            pos += n;
        }
    }
}
