/**
 * Backups of volume snapshots to S3-compatible object storage, restorable into new volumes (also
 * of another cluster reading the same bucket): content-addressed, compressed, checksummed chunks
 * ({@link io.ballast.backup.ChunkCodec}) plus a manifest per backup (backup.proto), incremental by
 * the blocks that changed since the base backup's snapshot ({@link io.ballast.backup.BackupWriter}),
 * deleted with a sweep of the chunks no backup references ({@link io.ballast.backup.BackupRepository}).
 * The bucket is reached through AWS SDK v2's S3 client ({@link io.ballast.backup.BackupBucket}).
 */
package io.ballast.backup;
