/**
 * Replication: Ratis state machines (volume, catalog), Raft group lifecycle, leadership placement,
 * snapshots, catch-up and rebuild. Ratis's shaded types ({@code org.apache.ratis.thirdparty})
 * never leave this module. Built out by the replication issue; for now the module only pins the
 * Ratis dependencies so the build proves they resolve and converge.
 */
package io.ballast.replication;
