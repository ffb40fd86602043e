/**
 * Replication: the node that hosts one Ratis server ({@link io.ballast.replication.RaftNode}) with one
 * Raft group per volume replica, plus what works across a node's groups (group-level user snapshots,
 * the leadership hand-off of a full disk, the stuck-log watchdog, the status reports). The parts live
 * in sub-packages and never reach back here (ArchitectureTest):
 * <ul>
 *   <li>{@code entry}: the formats of a volume's log entries and the data journal beside the log;</li>
 *   <li>{@code checkpoint}: Ratis checkpoints of a replica and the log space they keep bounded;</li>
 *   <li>{@code rebuild}: bringing a replica back (incremental or full block copy), repair and scrub;</li>
 *   <li>{@code snapshot}: a replica's user snapshots and clones;</li>
 *   <li>{@code statemachine}: the state machine applying a volume's entries to its local store;</li>
 *   <li>{@code membership}: adding and removing members, moving leadership;</li>
 *   <li>{@code frontend}: the write path, a volume's group-committing, fenced handle;</li>
 *   <li>{@code catalog}: the cluster catalog's own group; {@code config}: settings and their Ratis
 *       properties; {@code space}: disk watermarks; {@code ratis}: Ratis error mapping.</li>
 * </ul>
 * Ratis's shaded types ({@code org.apache.ratis.thirdparty}) never appear in public signatures.
 */
package io.ballast.replication;
