package io.ballast.engine.fuse;

/**
 * A decoded kernel request. Every variant carries the request's {@code unique} (the id its reply
 * must echo) and the {@code nodeId} it is about. {@link Write}'s data stays in the read buffer at
 * {@link Write#dataOffset()}: decoding copies nothing.
 *
 * <p>{@link Forget}, {@link BatchForget} and {@link Interrupt} must not be answered; every other
 * variant gets exactly one reply. {@link Malformed} is a request we could not decode (a kernel
 * we do not understand): it is answered with EIO when its unique is known.
 */
sealed interface FuseRequest {
    long unique();

    long nodeId();

    /** Protocol opcode, for logs and counters. */
    int opcode();

    record Init(long unique, long nodeId, int major, int minor, int maxReadahead, long flags) implements FuseRequest {
        public int opcode() {
            return FuseConstants.INIT;
        }
    }

    record Lookup(long unique, long nodeId, String name) implements FuseRequest {
        public int opcode() {
            return FuseConstants.LOOKUP;
        }
    }

    record GetAttr(long unique, long nodeId) implements FuseRequest {
        public int opcode() {
            return FuseConstants.GETATTR;
        }
    }

    record Open(long unique, long nodeId, int flags, boolean directory) implements FuseRequest {
        public int opcode() {
            return directory ? FuseConstants.OPENDIR : FuseConstants.OPEN;
        }
    }

    record Read(long unique, long nodeId, long fh, long offset, int size) implements FuseRequest {
        public int opcode() {
            return FuseConstants.READ;
        }
    }

    record ReadDir(long unique, long nodeId, long fh, long offset, int size) implements FuseRequest {
        public int opcode() {
            return FuseConstants.READDIR;
        }
    }

    record Write(long unique, long nodeId, long fh, long offset, int size, int writeFlags, int dataOffset)
            implements FuseRequest {
        public int opcode() {
            return FuseConstants.WRITE;
        }
    }

    /** FLUSH (on every close of a descriptor) and FSYNC (fsync/fdatasync, and the loop driver's flush). */
    record Sync(long unique, long nodeId, long fh, int opcode) implements FuseRequest {
    }

    record Release(long unique, long nodeId, long fh, boolean directory) implements FuseRequest {
        public int opcode() {
            return directory ? FuseConstants.RELEASEDIR : FuseConstants.RELEASE;
        }
    }

    record StatFs(long unique, long nodeId) implements FuseRequest {
        public int opcode() {
            return FuseConstants.STATFS;
        }
    }

    record Fallocate(long unique, long nodeId, long fh, long offset, long length, int mode) implements FuseRequest {
        public int opcode() {
            return FuseConstants.FALLOCATE;
        }
    }

    /** FORGET or BATCH_FORGET: the kernel dropped inode references; no reply. */
    record Forget(long unique, long nodeId, int opcode) implements FuseRequest {
    }

    /** The kernel would like {@code target} abandoned; no reply (the target is answered normally). */
    record Interrupt(long unique, long nodeId, long target) implements FuseRequest {
        public int opcode() {
            return FuseConstants.INTERRUPT;
        }
    }

    record Destroy(long unique, long nodeId) implements FuseRequest {
        public int opcode() {
            return FuseConstants.DESTROY;
        }
    }

    /** An opcode we do not implement: answered with ENOSYS (the kernel then stops sending most of them). */
    record Unsupported(long unique, long nodeId, int opcode) implements FuseRequest {
    }

    /** A request whose length does not match its opcode's layout; answered with EIO. */
    record Malformed(long unique, long nodeId, int opcode, String reason) implements FuseRequest {
    }
}
