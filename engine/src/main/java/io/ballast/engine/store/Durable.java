package io.ballast.engine.store;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Small file helpers shared by the store: crash-safe replace, directory fsync, error mapping.
 * {@link #fsyncDirectory} is public for the replication module's files (the entry journal).
 */
public final class Durable {
    private Durable() {}

    /** CRC32C of {@code buf} from {@code from} (inclusive) to {@code to} (exclusive), positions untouched. */
    static int crc32c(ByteBuffer buf, int from, int to) {
        CRC32C crc = new CRC32C();
        crc.update(buf.duplicate().clear().position(from).limit(to));
        return (int) crc.getValue();
    }

    /**
     * Replaces {@code target} with {@code content} so that a crash leaves either the old or the new
     * file: write a sibling temp file, fsync it, rename over the target, fsync the directory.
     */
    public static void writeAtomically(Path target, ByteBuffer content) {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer src = content.duplicate();
            while (src.hasRemaining()) {
                ch.write(src);
            }
            ch.force(true);
        } catch (IOException e) {
            throw ioError("write " + tmp, e);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw ioError("rename " + tmp + " to " + target, e);
        }
        fsyncDirectory(target.getParent());
    }

    /** Makes the directory's entries (creations, renames, deletions) durable. */
    public static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            throw ioError("fsync directory " + dir, e);
        }
    }

    static ByteBuffer readAll(Path file, int maxBytes) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > maxBytes) {
                throw new BallastException(ErrorCode.FOREIGN_FORMAT,
                        file + " is " + size + " bytes, larger than any Ballast record (" + maxBytes
                                + "); it is not a Ballast file");
            }
            ByteBuffer buf = ByteBuffer.allocate((int) size);
            while (buf.hasRemaining() && ch.read(buf) >= 0) {
                // keep reading until full or EOF
            }
            return buf.flip();
        } catch (IOException e) {
            throw ioError("read " + file, e);
        }
    }

    /** Maps an IOException from the JDK to NO_SPACE or IO_ERROR, keeping the cause. */
    static BallastException ioError(String what, IOException e) {
        String msg = String.valueOf(e.getMessage());
        if (msg.contains("No space left on device") || msg.contains("Disk quota exceeded")) {
            return new BallastException(ErrorCode.NO_SPACE, what + ": disk full (" + msg + ")", e);
        }
        if (e instanceof AccessDeniedException || (e instanceof FileSystemException
                && msg.contains("Permission denied"))) {
            return new BallastException(ErrorCode.IO_ERROR, what + ": permission denied (" + msg + ")", e);
        }
        return new BallastException(ErrorCode.IO_ERROR, what + ": " + e, e);
    }
}
