/**
 * Keeping file descriptors alive across a restart of {@code ballast node}: a small separate process
 * ({@link io.ballast.engine.keeper.FdKeeper}) holds duplicates of the node's /dev/fuse connections,
 * so the kernel keeps a FUSE mount (and the loop device and filesystem on it) waiting instead of
 * aborting it when the node dies; the restarted node takes its connections back
 * ({@link io.ballast.engine.keeper.FdKeeperClient}) and the kernel resends what was in flight.
 * Descriptors move between processes with pidfd_getfd(2) ({@link io.ballast.engine.keeper.ProcessFds}).
 */
package io.ballast.engine.keeper;
