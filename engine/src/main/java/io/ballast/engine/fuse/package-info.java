/**
 * The FUSE export: a {@link io.ballast.engine.volume.BlockVolume} served as one regular file under a
 * FUSE mount, speaking the kernel's FUSE protocol over /dev/fuse directly (jnr-ffi for open, read,
 * write, mount; no libfuse, no FUSE library). A loop device on that file makes the volume a block
 * device (the attach package's FuseLoopAttacher).
 *
 * <p>Entry points: {@link io.ballast.engine.fuse.FuseExport}, {@link io.ballast.engine.fuse.FuseExportConfig},
 * {@link io.ballast.engine.fuse.FuseConnectionInfo}, {@link io.ballast.engine.fuse.FuseStats}. Domain errors
 * become errno values only in {@code FuseErrors}; syscalls and their errno only in {@code FuseDevice}.
 *
 * <p>Pieces: {@code FuseSession} (reader thread, pooled direct buffers, replies from completion threads,
 * descriptor closed only after the last reply) -> {@code FuseRequestDecoder} (bytes to a sealed
 * {@code FuseRequest}; malformed input is a value, never an exception) -> {@code VolumeFileOps}
 * (requests to volume calls) -> {@code FuseReplies} (replies to bytes). One {@code *Descriptor} class
 * per kernel struct.
 *
 * <p>Protocol decisions (measured on Linux 6.18, FUSE 7.45; see docs/benchmarks.md):
 * <ul>
 * <li>We answer INIT with minor min(kernel, 38), ASYNC_READ, BIG_WRITES, ASYNC_DIO, MAX_PAGES and
 *     PARALLEL_DIROPS; max_write 1 MiB and max_pages 256 (the kernel's default max_pages_limit), mount
 *     option max_read 1 MiB; max_background = the buffer count (32). No WRITEBACK_CACHE: a write is
 *     acknowledged to the kernel only once the volume completed it.</li>
 * <li>The file is cacheable (no FOPEN_DIRECT_IO) by default and the loop device uses direct I/O
 *     (LO_FLAGS_DIRECT_IO, accepted by the kernel for FUSE files): the loop driver's requests reach us
 *     as asynchronous direct I/O, up to 32 in flight, and the FUSE page cache stays empty. Opening with
 *     FOPEN_DIRECT_IO works as well and measured the same or slower; a buffered loop device (no
 *     LO_FLAGS_DIRECT_IO) sends one write at a time (random writes at ~0.15-0.4x of a file) and its
 *     reads hit a second cached copy of the volume. Loop queues allow 128 segments, so a 1 MiB request
 *     from a scattered buffer can reach us as several smaller ones.</li>
 * <li>FSYNC and FLUSH map onto {@code BlockVolume.flush()} and are answered when it completes: the loop
 *     driver turns block-layer flushes (and FUA) into fsync on the file.</li>
 * <li>FALLOCATE: PUNCH_HOLE|KEEP_SIZE (loop DISCARD) and ZERO_RANGE (loop WRITE_ZEROES) become
 *     {@code writeZeroes}; plain allocation is EOPNOTSUPP. READDIR lists the one file so operators can
 *     {@code ls} the mount. Anything else (SETATTR, xattrs, create, ...) is ENOSYS.</li>
 * <li>Sizes: attributes are cached for 1 s; {@code FuseExport.sizeChanged()} sends
 *     FUSE_NOTIFY_INVAL_INODE so a grown volume is seen at once.</li>
 * <li>INTERRUPT is ignored (a volume request cannot be cancelled; the target is answered when done).</li>
 * </ul>
 */
package io.ballast.engine.fuse;
