/**
 * The data disk's fill level against its watermarks ({@link io.ballast.replication.space.DiskSpace})
 * and who refuses writes when disks are full ({@link io.ballast.replication.space.SpaceGuard}).
 */
package io.ballast.replication.space;
