/**
 * What a volume's Raft log carries: the entry and query formats ({@link
 * io.ballast.replication.entry.VolumeLogLayout}, {@link io.ballast.replication.entry.BlockOps}), and
 * the journal that holds large writes' data beside the log so that the log carries only a reference
 * ({@link io.ballast.replication.entry.VolumeEntryData}, {@link io.ballast.replication.entry.EntryDataJournal}).
 */
package io.ballast.replication.entry;
