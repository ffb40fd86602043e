/**
 * Kernel block devices for volumes: {@link io.ballast.engine.attach.DeviceAttacher} (the seam the CSI
 * Node service stages through) and {@link io.ballast.engine.attach.AttachedDevice}; two
 * implementations, {@link io.ballast.engine.attach.FuseLoopAttacher} (FUSE file + loop device, every
 * loop ioctl in {@link io.ballast.engine.attach.LoopDevices}) and
 * {@link io.ballast.engine.attach.NbdAttacher} (/dev/nbdN connected to the node's NBD server, every
 * netlink and nbd ioctl syscall in {@link io.ballast.engine.attach.NbdNative}, messages in
 * {@code NbdNetlink}), chosen by {@link io.ballast.engine.attach.DeviceAttachers}.
 */
package io.ballast.engine.attach;
