/**
 * The NBD server frontend: exports {@link io.ballast.engine.volume.BlockVolume}s to NBD clients
 * (kernel nbd, qemu, libnbd, fio) over a unix socket or TCP.
 *
 * <p>Entry points: {@link io.ballast.engine.nbd.NbdServer}, {@link io.ballast.engine.nbd.NbdServerConfig},
 * {@link io.ballast.engine.nbd.NbdExports} / {@link io.ballast.engine.nbd.MapNbdExports},
 * {@link io.ballast.engine.nbd.NbdStats}. Domain errors become NBD errors only in
 * {@link io.ballast.engine.nbd.NbdErrors}.
 *
 * <p>Pipeline per connection: {@code FlushConsolidationHandler -> NbdFrameDecoder (state machine,
 * both phases) -> NbdHandshakeHandler}, which replaces itself with {@code NbdTransmissionHandler}
 * after NBD_OPT_GO / NBD_OPT_EXPORT_NAME. One {@code *Descriptor} class per wire record.
 *
 * <p>Protocol decisions (spec: NetworkBlockDevice/nbd doc/proto.md):
 * <ul>
 * <li>Fixed newstyle only; a client without NBD_FLAG_C_FIXED_NEWSTYLE or with unknown flags is
 *     disconnected. Simple replies only: STRUCTURED_REPLY, meta contexts, STARTTLS and
 *     EXTENDED_HEADERS get NBD_REP_ERR_UNSUP.</li>
 * <li>NBD_INFO_BLOCK_SIZE is always sent (min 1, preferred = volume block size, max = max payload):
 *     these are the spec's defaults, so clients that did not ask are not constrained.</li>
 * <li>NBD_FLAG_SEND_FAST_ZERO is not advertised: {@code BlockVolume} cannot tell whether zeroing
 *     is faster than writing, and FAST_ZERO is then EINVAL as the spec recommends.
 *     CAN_MULTI_CONN follows {@code BlockVolume.flushCoversAllConnections()}. Read-only exports
 *     advertise no FUA/TRIM/WRITE_ZEROES and answer writes with EPERM.</li>
 * <li>Out of range: ENOSPC for WRITE/WRITE_ZEROES, EINVAL for READ/TRIM and for offset + length
 *     wrapping 2^64 (spec "Error values"). WRITE longer than the max payload: EINVAL then
 *     disconnect, without reading or allocating the payload (the spec allows the hard disconnect;
 *     EOVERFLOW is reserved for other cases). READ longer than the max payload: EINVAL.</li>
 * <li>Zero-length READ/WRITE/TRIM/WRITE_ZEROES succeed without reaching the volume.</li>
 * </ul>
 */
package io.ballast.engine.nbd;
