/**
 * Kernel block devices for volumes: {@link io.ballast.engine.attach.DeviceAttacher} (the seam the CSI
 * Node service stages through) and {@link io.ballast.engine.attach.AttachedDevice}; today one
 * implementation, {@link io.ballast.engine.attach.FuseLoopAttacher} (FUSE file + loop device), with
 * every loop ioctl in {@link io.ballast.engine.attach.LoopDevices}. An NBD attacher is the next one.
 */
package io.ballast.engine.attach;
